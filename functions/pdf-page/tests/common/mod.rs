//! What the pdf-page test binaries share.

use pdf_page::Clients;

/// Clients whose S3 is a closed port on 127.0.0.1, as in an outage: every call fails fast.
pub fn closed_port_clients(rt: &tokio::runtime::Runtime) -> Clients {
    rt.block_on(async {
        let conf = manuel_shared::aws::config_for_endpoint("http://127.0.0.1:9", "eu-west-1").await;
        Clients {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf)
                    .force_path_style(true)
                    .build(),
            ),
        }
    })
}
