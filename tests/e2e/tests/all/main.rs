//! End-to-end tests: the real broker, the real plugin components and the real simulators, over
//! loopback HTTP. One binary (`cargo test -p broker-e2e`), one module per area.

mod alicloud;
mod alicloud_cen_disk;
mod alicloud_compute;
mod alicloud_database;
mod alicloud_load_balancer;
mod alicloud_nat_eip;
mod alicloud_network;
mod broker_api;
mod harness;
mod postgres;
mod qcloud;
mod qcloud_route_policy;
mod qcloud_route_table;
mod qcloud_security_group;
mod qcloud_subnet;
mod qcloud_vm;
mod sandbox;
mod tenancy;
