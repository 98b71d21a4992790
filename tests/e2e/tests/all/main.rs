//! End-to-end tests: the real broker, the real plugin components and the real simulators, over
//! loopback HTTP. One binary (`cargo test -p broker-e2e`), one module per area.

mod alicloud;
mod alicloud_cen_disk;
mod alicloud_compute;
mod alicloud_database;
mod alicloud_load_balancer;
mod alicloud_nat_eip;
mod alicloud_network;
mod audit;
mod bridgx;
mod bridgx_errors;
mod broker_api;
mod cache;
mod cds;
mod cds_actions;
mod cds_resources;
mod harness;
mod lifecycle;
mod metrics;
mod postgres;
mod qcloud;
mod qcloud_mariadb;
mod qcloud_mysql;
mod qcloud_nat_gateway;
mod qcloud_peering_connection;
mod qcloud_redis;
mod qcloud_route_policy;
mod qcloud_route_table;
mod qcloud_security_group;
mod qcloud_storage;
mod qcloud_subnet;
mod qcloud_vm;
mod sandbox;
mod settings;
mod tenancy;
mod tencent;
