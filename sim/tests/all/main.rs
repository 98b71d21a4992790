//! Simulator tests over real HTTP on loopback: one integration binary, one module per simulator.

mod aliyun;
mod tc3_client;
mod tencent;
mod tencent_cvm;
mod tencent_databases;
mod tencent_nat_peering;
mod tencent_network;
