"""Proves each piece of the local infrastructure for real (see docs/infrastructure.md)."""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import pytest

from .conftest import (
    HOST,
    JAEGER_QUERY_PORT,
    KAFKA_PORT,
    LOCK_STORE_NAME,
    MARIADB_PASSWORD,
    MARIADB_PORT,
    MARIADB_USER,
    PUBSUB_NAME,
    REDIS_PORT,
    SMOKE_TOPIC,
    Daprd,
    require_port,
    unavailable,
)

pytestmark = pytest.mark.infra


def test_mariadb_answers_with_the_test_credentials() -> None:
    require_port("mariadb", MARIADB_PORT)
    import pymysql

    for database in ("product", "product_test"):
        try:
            conn = pymysql.connect(
                host=HOST,
                port=MARIADB_PORT,
                user=MARIADB_USER,
                password=MARIADB_PASSWORD,
                database=database,
                connect_timeout=5,
            )
        except pymysql.err.OperationalError as exc:
            unavailable("mariadb", f"cannot log in as {MARIADB_USER} to {database}: {exc}")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1, VERSION()")
                one, version = cur.fetchone()
                assert one == 1
                assert "MariaDB" in version
                # The user may create tables in its databases.
                cur.execute("CREATE TEMPORARY TABLE smoke_t (id INT PRIMARY KEY)")
                cur.execute("INSERT INTO smoke_t VALUES (1)")
                cur.execute("SELECT COUNT(*) FROM smoke_t")
                assert cur.fetchone() == (1,)
        finally:
            conn.close()


def test_redis_answers_ping_over_a_raw_socket() -> None:
    require_port("redis", REDIS_PORT)
    with socket.create_connection((HOST, REDIS_PORT), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(64) == b"+PONG\r\n"
        key = f"smoke:{uuid.uuid4()}".encode()
        s.sendall(b"SET " + key + b" v EX 10\r\nGET " + key + b"\r\n")
        reply = b""
        deadline = time.monotonic() + 5
        while b"$1\r\nv\r\n" not in reply and time.monotonic() < deadline:
            reply += s.recv(64)
        assert reply == b"+OK\r\n$1\r\nv\r\n"


def test_jaeger_query_api_answers() -> None:
    require_port("jaeger", JAEGER_QUERY_PORT)
    r = httpx.get(f"http://{HOST}:{JAEGER_QUERY_PORT}/api/services", timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "data" in body and body.get("errors") is None, body


def test_daprd_is_healthy_with_kafka_and_redis_components(daprd: Daprd) -> None:
    r = httpx.get(f"{daprd.http_url}/v1.0/healthz", timeout=5)
    assert r.status_code == 204
    meta = httpx.get(f"{daprd.http_url}/v1.0/metadata", timeout=5).json()
    loaded = {(c["name"], c["type"]) for c in meta.get("components", [])}
    assert (PUBSUB_NAME, "pubsub.kafka") in loaded, meta
    assert (LOCK_STORE_NAME, "lock.redis") in loaded, meta


def test_publish_through_daprd_is_read_back_from_kafka(daprd: Daprd, kafka_up: None) -> None:
    from confluent_kafka import Consumer, KafkaError

    marker = str(uuid.uuid4())
    consumer = Consumer(
        {
            "bootstrap.servers": f"{HOST}:{KAFKA_PORT}",
            "group.id": f"smoke-reader-{marker}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([SMOKE_TOPIC])
        r = httpx.post(
            f"{daprd.http_url}/v1.0/publish/{PUBSUB_NAME}/{SMOKE_TOPIC}",
            params={"metadata.partitionKey": marker},
            json={"marker": marker},
            timeout=30,
        )
        assert r.status_code == 204, f"publish failed: HTTP {r.status_code} {r.text}"

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                continue
            event = json.loads(msg.value())
            if event.get("data", {}).get("marker") != marker:
                continue  # an older smoke message
            # Dapr wraps the payload in a CloudEvent and keys it by partitionKey.
            assert event["topic"] == SMOKE_TOPIC
            assert event["pubsubname"] == PUBSUB_NAME
            assert event["source"] == "smoke"
            assert msg.key() == marker.encode()
            return
        pytest.fail(f"message {marker} published through daprd never arrived on Kafka")
    finally:
        consumer.close()


def test_lock_through_daprd_is_refused_to_a_second_owner(daprd: Daprd, redis_up: None) -> None:
    resource = f"smoke-order-{uuid.uuid4()}"
    url = f"{daprd.http_url}/v1.0-alpha1/lock/{LOCK_STORE_NAME}"
    unlock = f"{daprd.http_url}/v1.0-alpha1/unlock/{LOCK_STORE_NAME}"

    def try_lock(owner: str) -> bool:
        r = httpx.post(
            url,
            json={"resourceId": resource, "lockOwner": owner, "expiryInSeconds": 30},
            timeout=10,
        )
        assert r.status_code == 200, f"lock call failed: HTTP {r.status_code} {r.text}"
        return bool(r.json().get("success"))

    assert try_lock("owner-a") is True
    assert try_lock("owner-b") is False
    r = httpx.post(unlock, json={"resourceId": resource, "lockOwner": "owner-b"}, timeout=10)
    assert r.json().get("status") != 0, "a non-owner must not be able to unlock"  # 0 = SUCCESS
    r = httpx.post(unlock, json={"resourceId": resource, "lockOwner": "owner-a"}, timeout=10)
    assert r.status_code == 200 and r.json().get("status") == 0, r.text
    assert try_lock("owner-b") is True
    httpx.post(unlock, json={"resourceId": resource, "lockOwner": "owner-b"}, timeout=10)


def test_daprd_traces_reach_jaeger(daprd: Daprd) -> None:
    """daprd exports spans over OTLP gRPC to Jaeger, which then lists the app id."""
    require_port("jaeger", JAEGER_QUERY_PORT)
    # Any API call through daprd makes a span; publish a message to be sure.
    httpx.post(
        f"{daprd.http_url}/v1.0/publish/{PUBSUB_NAME}/{SMOKE_TOPIC}",
        json={"trace": "smoke"},
        timeout=30,
    )
    deadline = time.monotonic() + 30
    services: list[str] = []
    while time.monotonic() < deadline:
        r = httpx.get(f"http://{HOST}:{JAEGER_QUERY_PORT}/api/services", timeout=5)
        services = r.json().get("data") or []
        if "smoke" in services:
            return
        time.sleep(1)
    pytest.fail(f"Jaeger never listed the daprd app id 'smoke'; services: {services}")
