package main

import (
	"errors"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	kafka "github.com/go-micro/plugins/v4/broker/kafka"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/codec/json"
)

// producerConfig is order v7's loadKafkaConfig (internal/infrastructure/broker.go). The
// numbers it reads from Consul are not in the repository; these are assumptions and none of
// them changes what a record looks like.
func producerConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_0_0_0
	c.ChannelBufferSize = 256
	c.Net.DialTimeout = 10 * time.Second
	c.Net.ReadTimeout = 30 * time.Second
	c.Net.WriteTimeout = 30 * time.Second
	c.Producer.Retry.Backoff = time.Second
	c.Producer.Retry.Max = 3
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Compression = sarama.CompressionGZIP
	c.Producer.Partitioner = sarama.NewHashPartitioner // no key: a random partition
	c.Producer.Idempotent = true
	c.Metadata.AllowAutoTopicCreation = false
	c.Consumer.Offsets.Initial = sarama.OffsetOldest // unused: the plugin's consumers ignore this config
	c.Net.MaxOpenRequests = 1
	c.Consumer.Group.Rebalance.Strategy = sarama.BalanceStrategySticky
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.ClientID = "legacy-peer"
	return c
}

// consumerConfig is what the plugin's getClusterConfig makes of sarama's defaults when the
// service passes no kafka.ClusterConfig (order v7 passes none): a new group starts at the
// newest offset. fromStart makes it the oldest.
func consumerConfig(fromStart bool, clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetNewest
	if fromStart {
		c.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	c.ClientID = clientID
	return c
}

// newBroker is the service's kafka broker: the go-micro Kafka plugin with the producer
// config, its JSON codec (recorded, to print the exact record values), and errors handled
// by h. Publish uses the plugin's SyncProducer (order v7 passes AsyncProducer channels: the
// same records, but no way to learn here that one was written).
func newBroker(addrs []string, rec *recorder, h broker.Handler, cluster *sarama.Config) broker.Broker {
	opts := []broker.Option{broker.Addrs(addrs...), kafka.BrokerConfig(producerConfig()), broker.Codec(rec)}
	if h != nil {
		opts = append(opts, broker.ErrorHandler(h))
	}
	if cluster != nil {
		opts = append(opts, kafka.ClusterConfig(cluster))
	}
	return kafka.NewBroker(opts...)
}

// recorder is the plugin's json.Marshaler, keeping the bytes of the last value it wrote.
type recorder struct {
	mu   sync.Mutex
	last []byte
	json.Marshaler
}

func (r *recorder) Marshal(v interface{}) ([]byte, error) {
	b, err := r.Marshaler.Marshal(v)
	r.mu.Lock()
	r.last = append([]byte{}, b...)
	r.mu.Unlock()
	return b, err
}

func (r *recorder) take() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.last
	r.last = nil
	return b
}

// captureBroker takes what a service would publish, without Kafka.
type captureBroker struct {
	broker.Broker
	topics []string
	msgs   []*broker.Message
}

func (c *captureBroker) Publish(topic string, m *broker.Message, _ ...broker.PublishOption) error {
	c.topics = append(c.topics, topic)
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *captureBroker) only() (string, *broker.Message, error) {
	if len(c.msgs) != 1 {
		return "", nil, errors.New("expected one message")
	}
	return c.topics[0], c.msgs[0], nil
}
