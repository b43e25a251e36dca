"""moto server as the local stack runs it: moto 5.2.5's server, with the corrections that make
its answers the ones AWS gives where a strict client (the Rust SDK) tells them apart. The CLI
embeds this file and writes it into the stack's run folder; it runs on the tools venv's Python
with moto_server's arguments:

    .venv/bin/python3 RUN_DIR/moto_server_local.py -H 127.0.0.1 -p PORT

Corrections (each measured; README, "Local AWS"):
- GetBucketVersioning: moto serialises the answer under a <GetBucketVersioningResponse> root;
  S3 answers <VersioningConfiguration> (with <Status> only once versioning was ever set).
  botocore ignores the root element, the Rust SDK rejects any other root as an unhandled error.
"""
import sys
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response
from moto.server import main

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{escape(status)}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="{S3_NS}">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = get_bucket_versioning

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
