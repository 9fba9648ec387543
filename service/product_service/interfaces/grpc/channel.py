"""The Dapr app channel: what daprd calls on the app over gRPC."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from dapr.ext.grpc import App

from product_service.bootstrap import Runtime
from product_service.contract.product.v1 import product_service_pb2_grpc as pb_grpc
from product_service.interfaces.grpc.auth import AppApiToken
from product_service.interfaces.grpc.bulk import BulkOptions
from product_service.interfaces.grpc.intake import Intake
from product_service.interfaces.grpc.product_api import ProductApi
from product_service.interfaces.grpc.subscriptions import TopicHandlers, register_subscriptions


def app_channel(
    runtime: Runtime,
    intake: Intake,
    thread_pool: ThreadPoolExecutor,
    health_check: Callable[[], None] | None = None,
) -> App:
    """The topic subscriptions, the ProductService API and the health check, behind the app
    API token when one is set, on gRPC options that admit a traced bulk delivery's metadata.
    `intake` counts the work in progress of both, for shutdown."""
    settings, inventory = runtime.settings, runtime.inventory
    token = settings.app_api_token
    app = App(
        thread_pool=thread_pool,
        interceptors=[AppApiToken(token.get_secret_value())] if token else [],
        options=BulkOptions.of(settings).server_options(),
    )
    handlers = TopicHandlers(inventory, runtime.dead_letters, settings, intake)
    register_subscriptions(app, handlers, settings)
    api = ProductApi(inventory, intake, settings.max_message_bytes)
    app.add_external_service(pb_grpc.add_ProductServiceServicer_to_server, api)
    if health_check is not None:
        app.register_health_check(health_check)
    return app
