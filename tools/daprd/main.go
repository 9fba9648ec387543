// Command daprd is a slim Dapr sidecar for the product service.
//
// It runs the upstream daprd (github.com/dapr/dapr/cmd/daprd/app) with only
// the components this project uses registered. Upstream's own component list
// (cmd/daprd/components) is behind build tags, so without tags nothing else
// is compiled in, which keeps the build small and fast.
//
// Built by scripts/infra (see docs/infrastructure.md):
//
//	go build -trimpath -ldflags "-s -w" -o <cache>/bin/daprd-1.18.3 .
package main

import (
	"github.com/dapr/components-contrib/lock/redis"
	"github.com/dapr/components-contrib/nameresolution/hashicorp/consul"
	"github.com/dapr/components-contrib/nameresolution/kubernetes"
	"github.com/dapr/components-contrib/nameresolution/mdns"
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	inmemory "github.com/dapr/components-contrib/pubsub/in-memory"
	"github.com/dapr/components-contrib/pubsub/kafka"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"

	"github.com/dapr/dapr/cmd/daprd/app"
	lockLoader "github.com/dapr/dapr/pkg/components/lock"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
)

func registerComponents() {
	// Pub/sub: Kafka for the full stack, in-memory for the embedded default.
	pubsubLoader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")
	pubsubLoader.DefaultRegistry.RegisterComponent(inmemory.New, "in-memory")

	// Distributed lock (defence in depth, see DESIGN.md section 4).
	lockLoader.DefaultRegistry.RegisterComponent(redis.NewStandaloneRedisLock, "redis")

	// Name resolution: single host (mdns, sqlite), multi-host (consul), cluster (kubernetes).
	nrLoader.DefaultRegistry.RegisterComponent(mdns.NewResolver, "mdns")
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
	nrLoader.DefaultRegistry.RegisterComponent(consul.NewResolver, "hashicorp.consul", "consul")
	nrLoader.DefaultRegistry.RegisterComponent(kubernetes.NewResolver, "kubernetes")

	// Secret stores for local runs.
	secretstoresLoader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	secretstoresLoader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
}

func main() {
	registerComponents()
	app.Run()
}
