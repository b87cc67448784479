"""moto's S3 on 127.0.0.1 with request authentication on: one IAM user allowed s3:* is
created first (the only unauthenticated actions), so wrong credentials get a 403 as on AWS.
With PICTOR_S3_AUTH=0 any credentials are accepted and the keys printed are fixed (a server
restarted on the same port then takes the same keys). Run through scripts/s3-test-server.sh,
which installs moto."""

import json
import os
import socket
import sys
import threading

SETUP_ACTIONS = 3  # create_user, put_user_policy, create_access_key

AUTH = os.environ.get("PICTOR_S3_AUTH", "1") != "0"
if AUTH:
    # moto reads this when imported: authenticate every request after the setup actions.
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(SETUP_ACTIONS)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import logging  # noqa: E402

from moto.server import ThreadedMotoServer  # noqa: E402
import boto3  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "0" else free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    if not AUTH:
        print(f"PICTOR_S3_ENDPOINT={endpoint}")
        print("PICTOR_S3_ACCESS_KEY=pictor-test")
        print("PICTOR_S3_SECRET_KEY=pictor-test-secret")
        print("PICTOR_S3_READY", flush=True)
        threading.Event().wait()
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName="pictor")
    iam.put_user_policy(
        UserName="pictor",
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="pictor")["AccessKey"]
    print(f"PICTOR_S3_ENDPOINT={endpoint}")
    print(f"PICTOR_S3_ACCESS_KEY={key['AccessKeyId']}")
    print(f"PICTOR_S3_SECRET_KEY={key['SecretAccessKey']}")
    print("PICTOR_S3_READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
