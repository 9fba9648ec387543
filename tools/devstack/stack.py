"""Stack: the product service and the order simulator, each with its sidecar, for one run."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from devstack.components import Overrides, render
from devstack.errors import DevstackError, with_logs
from devstack.kafka import delete_topics, ensure_topics, start_group_at_end
from devstack.net import HOST, free_port, http_status
from devstack.process import START_TIMEOUT, App
from devstack.sidecar import Sidecar, find_daprd
from order_simulator import OrderSimulator, topics

PROFILES = ("embedded", "full")
PRODUCT_APP_ID = "product-service"
SIMULATOR_APP_ID = "order-simulator"
PUBSUB = "pubsub"
LOCK_STORE = "lockstore"
PRODUCT_TOPICS = (topics.PAYMENT_SUCCESS, topics.DEDUCT_SUCCESS_DLQ)
# The product service's topic settings, by contract topic name.
PRODUCT_TOPIC_ENV = {
    topics.PAYMENT_SUCCESS: "PRODUCT_TOPIC_PAYMENT_SUCCEEDED",
    topics.DEDUCT_SUCCESS: "PRODUCT_TOPIC_DEDUCT_SUCCEEDED",
    topics.DEDUCT_FAILED: "PRODUCT_TOPIC_DEDUCT_FAILED",
    topics.DEDUCT_SUCCESS_DLQ: "PRODUCT_TOPIC_DEDUCT_REJECTED",
    topics.REVERTED: "PRODUCT_TOPIC_REVERTED",
}
TOOLS_DIR = Path(__file__).resolve().parents[1]


class Stack:
    """Processes of one run; leaving the `with` block stops every one it started."""

    def __init__(
        self,
        profile: str = "embedded",
        run_dir: Path | str = ".local/run",
        database_url: str | None = None,
        consumer_group: str | None = None,
        simulator_consumer_group: str | None = None,
        kafka_start_at_end: bool = True,
        topic_suffix: str | None = None,
        daprd: str | None = None,
        log_level: str = "info",
        partitions: int = 6,
        trace_sampling: float | None = None,
        inbound_retry: Mapping[str, object] | None = None,
        pubsub_metadata: Mapping[str, str] | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        self.profile = profile
        # Fraction of traces the sidecars and the app record (None: as the profile has it).
        self.trace_sampling = trace_sampling
        self.inbound_retry = dict(inbound_retry or {})  # see components.Overrides
        # Extra metadata of the Kafka pub/sub (full profile), e.g. its rebalance strategy.
        self.pubsub_metadata = dict(pubsub_metadata or {})
        self.run_dir = Path(run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{self.run_dir / 'product-service.db'}"
        self.consumer_group = consumer_group or "product-consumer"
        if simulator_consumer_group is None:
            simulator_consumer_group = f"{consumer_group}-sim" if consumer_group else None
        self.simulator_consumer_group = simulator_consumer_group or "order-simulator"
        self.kafka_start_at_end = kafka_start_at_end
        # Contract topic name -> this stack's topic on the broker (see order_simulator.topics).
        self.topics = topics.Topics(topic_suffix or "")
        self._topics_ready = False
        # Partitions of the topics this stack creates (existing topics keep theirs).
        self.partitions = partitions
        self.daprd = daprd or find_daprd()
        self.log_level = log_level
        self.kafka_brokers = f"{HOST}:{os.environ.get('KAFKA_PORT', '9092')}"
        self.redis_host = f"{HOST}:{os.environ.get('REDIS_PORT', '6379')}"
        self.otel_endpoint = f"{HOST}:{os.environ.get('JAEGER_OTLP_GRPC_PORT', '4317')}"
        self.products: list[App] = []  # product-service replicas, in start order
        self.simulator: SimulatorApp | None = None
        self._apps: list[App] = []

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> dict[str, int | None]:
        """Stop apps (SIGTERM, then SIGKILL after a timeout), then their sidecars, then delete
        the topics this stack made for its own suffix; exit codes."""
        codes: dict[str, int | None] = {}
        if self.simulator is not None:
            self.simulator.close_client()
        for app in reversed(self._apps):
            codes[app.name] = app.stop()
            codes[app.sidecar.name] = app.sidecar.stop()
        self._delete_own_topics()
        return codes

    def _delete_own_topics(self) -> None:
        """Topics with this stack's suffix are its own: left behind, a broker that outlives many
        runs holds thousands of idle partitions, and burns CPU on each. Best effort: a broker
        that is down (a fault test) keeps them, which the next stack does not mind."""
        if not (self._topics_ready and self.topics.suffix):
            return
        # Also the legacy bridge's and dead-letter topics that the apps made on first use.
        own = [self.topics.wire(t) for t in (*topics.ALL, *topics.LEGACY)]
        own += [name + topics.DEAD_LETTER_SUFFIX for name in own]
        try:
            left = delete_topics(self.kafka_brokers, own, timeout=5)
        except Exception as exc:  # confluent_kafka raises several kinds; none must fail a stop
            left, reason = own, str(exc)
        else:
            reason = "the broker refused"
        if left:
            print(f"devstack: {len(left)} topic(s) left on the broker: {reason}", file=sys.stderr)
        self._topics_ready = False

    def _topic_names(self) -> list[str]:
        names = [self.topics.wire(t) for t in topics.ALL]
        return names + [self.topics.wire(t) + topics.DEAD_LETTER_SUFFIX for t in PRODUCT_TOPICS]

    def sidecar(self, app_id: str, consumer_group: str, replica: str | None = None) -> Sidecar:
        """Render the profile for app_id (one of its replicas) into run_dir/dapr/<replica>/ and
        make its sidecar; on Kafka each replica is a member of the group under its own client
        id, so the group's assignment names the replica (devstack.kafka.group_assignment)."""
        name = replica or app_id
        pubsub = {
            "brokers": self.kafka_brokers,
            "consumerGroup": consumer_group,
            "clientId": name,
            **self.pubsub_metadata,
        }
        overrides = Overrides(
            metadata={
                PUBSUB: pubsub if self.profile == "full" else {},
                LOCK_STORE: {"redisHost": self.redis_host},
            },
            name_resolution_db=self.run_dir / "dapr" / "nameresolution.db",
            otel_endpoint=self.otel_endpoint,
            sampling_rate=None if self.trace_sampling is None else f"{self.trace_sampling:g}",
            topic_wire=self.topics.wire,
            inbound_retry=self.inbound_retry,
        )
        resources, config = render(self.profile, app_id, self.run_dir / "dapr" / name, overrides)
        return Sidecar(
            app_id,
            self.daprd,
            resources,
            config,
            self.run_dir,
            log_level=self.log_level,
            replica=name,
        )

    @property
    def product(self) -> App | None:
        """The first product-service replica (the only one unless more were started)."""
        return self.products[0] if self.products else None

    def start_product(
        self,
        env: Mapping[str, str] | None = None,
        timeout: float = START_TIMEOUT,
        replicas: int = 1,
    ) -> App:
        """Migrate the database, start `replicas` product-service replicas and wait until each
        is ready; the first. Replicas are as pods of one Deployment: one app id, one consumer
        group, each app beside its own daprd."""
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        if self.profile == "full" and replicas > self.partitions:
            raise ValueError(
                f"{replicas} replicas need at least as many partitions, not {self.partitions}: "
                "a replica beyond the partition count would get none"
            )
        for _ in range(replicas):
            self.add_replica(env, timeout)
        first = self.product
        assert first is not None
        return first

    def add_replica(
        self, env: Mapping[str, str] | None = None, timeout: float = START_TIMEOUT
    ) -> App:
        """One more product-service replica (the first migrates the database and prepares
        Kafka); it joins the consumer group, which rebalances."""
        index = len(self.products)
        name = PRODUCT_APP_ID if index == 0 else f"{PRODUCT_APP_ID}-{index}"
        sidecar = self.sidecar(PRODUCT_APP_ID, self.consumer_group, replica=name)
        http_port = free_port()
        app_env = {
            **self._dapr_env(sidecar),
            "PRODUCT_GRPC_PORT": str(sidecar.app_port),
            "PRODUCT_HTTP_HOST": HOST,
            "PRODUCT_HTTP_PORT": str(http_port),
            # The operator views ask for it, as in a deployment (App.operator_headers).
            "PRODUCT_HTTP_TOKEN": secrets.token_urlsafe(24),
            "PRODUCT_DATABASE_URL": self.database_url,
            "PRODUCT_PUBSUB_NAME": PUBSUB,
            "PRODUCT_LOCK_STORE_NAME": LOCK_STORE if self.profile == "full" else "",
            # The full profile traces the app too, into the same Jaeger as the sidecars.
            **(
                {"PRODUCT_OTEL_ENDPOINT": f"http://{self.otel_endpoint}"}
                if self.profile == "full"
                else {}
            ),
            **(
                {"PRODUCT_TRACE_ROOT_SAMPLE_RATIO": f"{self.trace_sampling:g}"}
                if self.trace_sampling is not None
                else {}
            ),
            **{var: self.topics.wire(topic) for topic, var in PRODUCT_TOPIC_ENV.items()},
            **(env or {}),
        }
        cli = product_cli()
        log_path = self.run_dir / f"{name}.log"
        if index == 0:
            self._migrate(cli, app_env, log_path)
            self._prepare_kafka(self.consumer_group, PRODUCT_TOPICS)
        subscribed = [self.topics.wire(t) for t in PRODUCT_TOPICS]

        def ready() -> str | None:
            status = http_status(f"http://{HOST}:{http_port}/readyz")
            if status != 200:
                return f"{name} /readyz answered {status}"
            return sidecar.missing_topics(subscribed)

        app = App(name, [cli, "serve"], app_env, sidecar, log_path, self.run_dir, ready)
        app.http_port = http_port
        app.http_token = app_env["PRODUCT_HTTP_TOKEN"]
        self._apps.append(app)
        self.products.append(app)
        app.start(timeout=timeout)
        return app

    def start_simulator(
        self, env: Mapping[str, str] | None = None, timeout: float = START_TIMEOUT
    ) -> SimulatorApp:
        """Start the order simulator and its sidecar (full profile: it needs a shared broker)."""
        if self.profile != "full":
            raise DevstackError(
                "the order simulator needs the full profile: in-memory pub/sub lives inside one "
                "sidecar; in the embedded profile use stack.client() on the product sidecar"
            )
        self._prepare_kafka(self.simulator_consumer_group, topics.OUTCOMES)
        subscribed = [self.topics.wire(t) for t in topics.OUTCOMES]
        sidecar = self.sidecar(SIMULATOR_APP_ID, self.simulator_consumer_group)
        received = self.run_dir / f"{SIMULATOR_APP_ID}.received.jsonl"
        pythonpath = os.pathsep.join(p for p in (str(TOOLS_DIR), os.environ.get("PYTHONPATH")) if p)
        app_env = {
            **self._dapr_env(sidecar),
            "SIMULATOR_GRPC_PORT": str(sidecar.app_port),
            "SIMULATOR_RECEIVED_PATH": str(received),
            "SIMULATOR_PUBSUB_NAME": PUBSUB,
            topics.SUFFIX_ENV: self.topics.suffix,
            "PYTHONPATH": pythonpath,
            **(env or {}),
        }
        app = SimulatorApp(
            SIMULATOR_APP_ID,
            [sys.executable, "-m", "order_simulator", "serve"],
            app_env,
            sidecar,
            self.run_dir / f"{SIMULATOR_APP_ID}.log",
            self.run_dir,
            lambda: sidecar.missing_topics(subscribed),
        )
        app.received_path = received
        app.topic_suffix = self.topics.suffix
        self._apps.append(app)
        app.start(timeout=timeout)
        self.simulator = app
        return app

    def client(self) -> OrderSimulator:
        """A simulator client on the product sidecar (no subscriber: nothing is received)."""
        if self.product is None:
            raise DevstackError("start_product() first")
        return OrderSimulator(
            self.product.sidecar.grpc_port,
            received_path=None,
            pubsub=PUBSUB,
            topic_suffix=self.topics.suffix,
            api_token=self.product.sidecar.api_token,
        )

    def _prepare_kafka(self, group: str, contract_topics: tuple[str, ...]) -> None:
        """Full profile: this stack's topics exist, and a new group starts at their ends."""
        if self.profile != "full":
            return
        try:
            self._prepare_topics_and_group(group, contract_topics)
        except Exception as exc:  # confluent_kafka raises several kinds; all mean the same here
            raise DevstackError(
                f"Kafka at {self.kafka_brokers} not usable ({exc}); "
                "start it with `scripts/infra up kafka`"
            ) from exc

    def _prepare_topics_and_group(self, group: str, contract_topics: tuple[str, ...]) -> None:
        if not self._topics_ready:
            ensure_topics(self.kafka_brokers, self._topic_names(), partitions=self.partitions)
            self._topics_ready = True
        if self.kafka_start_at_end:
            wire = [self.topics.wire(t) for t in contract_topics]
            start_group_at_end(self.kafka_brokers, group, wire)

    @staticmethod
    def _dapr_env(sidecar: Sidecar) -> dict[str, str]:
        return {
            "DAPR_GRPC_PORT": str(sidecar.grpc_port),
            "DAPR_HTTP_PORT": str(sidecar.http_port),
            "DAPR_RUNTIME_HOST": HOST,
            "DAPR_API_TOKEN": sidecar.api_token,
            "APP_API_TOKEN": sidecar.app_token,
        }

    def _migrate(self, cli: str, env: Mapping[str, str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            log.write(f"=== devstack: {cli} db upgrade\n".encode())
            log.flush()
            done = subprocess.run(
                [cli, "db", "upgrade"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                cwd=self.run_dir,
                timeout=120,
                check=False,
            )
        if done.returncode != 0:
            raise with_logs(f"`product-service db upgrade` exited {done.returncode}", log_path)


class SimulatorApp(App):
    received_path: Path
    topic_suffix: str = ""
    _client: OrderSimulator | None = None

    @property
    def client(self) -> OrderSimulator:
        """The client bound to the simulator's sidecar (one per app; closed with the stack)."""
        if self._client is None:
            self._client = OrderSimulator(
                self.sidecar.grpc_port,
                self.received_path,
                pubsub=PUBSUB,
                topic_suffix=self.topic_suffix,
                api_token=self.sidecar.api_token,
            )
        return self._client

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def product_cli() -> str:
    """The `product-service` command of the running interpreter's environment."""
    beside = Path(sys.executable).parent / "product-service"
    if beside.exists():
        return str(beside)
    found = shutil.which("product-service")
    if found is None:
        raise DevstackError("no `product-service` command: run `make install`")
    return found
