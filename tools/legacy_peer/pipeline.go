package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/product-service/tools/legacy_peer/wire"
	"go-micro.dev/v4"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/metadata"
)

// The publish path of the legacy services, rebuilt from their source on go-micro's own
// metadata, client and event types, ending in broker.Publish of the Kafka plugin:
//
//	microListener.Publish   Event-Type (v7 only), Pkey; v7 wraps the event in a BaseEvent
//	opentelemetry wrapper   Traceparent of a new producer span
//	MetaDataWrapper         Event_id, Timestamp, Source, Schema_version
//	gRPC client Publish     Content-Type, Micro-Topic; Body = codec(Content-Type)(message)
//	kafka broker Publish    record value = JSON of broker.Message, no key, no record headers
//
// metadata.FromContext title-cases every key at each step (strings.Title: "traceparent"
// becomes "Traceparent", "Event_id" stays), which is where the odd key spellings come from.

const grpcProto = "application/grpc+proto" // the gRPC client plugin's default content type

// publisher is one service's event publishing, as configured in its Consul KV.
type publisher struct {
	era           string // v7, bare or v6
	source        string // service.name
	schemaVersion string // service.version
	contentType   string
	traceparent   string // of the span the publish happens in; "" starts a new trace
	now           func() time.Time
}

// publish runs the whole path for one event; b receives the broker.Message.
func (p publisher) publish(ctx context.Context, b broker.Broker, topic string, msg wire.Message, key, eventType string) error {
	c := otelWrapper(p)(metadataWrapper(p)(&grpcClient{broker: b, contentType: p.contentType}))
	if p.era == eraV7 {
		ctx = metadata.Set(ctx, "Event-Type", eventType)
	}
	if key != "" {
		if _, ok := metadata.Get(ctx, "Pkey"); !ok {
			ctx = metadata.Set(ctx, "Pkey", key)
		}
	}
	var payload wire.Message = msg
	if p.era == eraV7 {
		payload = &wire.BaseEvent{Timestamp: p.now().UnixMilli(), EventType: eventType, Payload: msg.Marshal()}
	}
	return micro.NewEvent(topic, c).Publish(ctx, payload, client.PublishContext(ctx))
}

// grpcClient is the Publish of github.com/go-micro/plugins/v4/client/grpc v1.2.1.
type grpcClient struct {
	client.Client // never called: only NewMessage and Publish are used
	broker        broker.Broker
	contentType   string
}

type message struct {
	topic, contentType string
	payload            interface{}
}

func (m *message) Topic() string              { return m.topic }
func (m *message) Payload() interface{}       { return m.payload }
func (m *message) ContentType() string        { return m.contentType }
func (c *grpcClient) String() string          { return "grpc" }
func (c *grpcClient) Options() client.Options { return client.Options{ContentType: c.contentType} }

func (c *grpcClient) NewMessage(topic string, payload interface{}, opts ...client.MessageOption) client.Message {
	o := client.MessageOptions{ContentType: c.contentType}
	for _, opt := range opts {
		opt(&o)
	}
	return &message{topic: topic, contentType: o.ContentType, payload: payload}
}

func (c *grpcClient) Publish(ctx context.Context, p client.Message, opts ...client.PublishOption) error {
	var options client.PublishOptions
	for _, o := range opts {
		o(&options)
	}
	md, ok := metadata.FromContext(ctx)
	if !ok {
		md = make(map[string]string)
	}
	md["Content-Type"] = p.ContentType()
	md["Micro-Topic"] = p.Topic()
	body, err := marshalBody(p.ContentType(), p.Payload())
	if err != nil {
		return err
	}
	topic := p.Topic()
	if len(options.Exchange) > 0 {
		topic = options.Exchange
	}
	return c.broker.Publish(topic, &broker.Message{Header: md, Body: body}, broker.PublishContext(options.Context))
}

// marshalBody is the gRPC plugin's codec table (defaultGRPCCodecs) for a proto message.
func marshalBody(contentType string, payload interface{}) ([]byte, error) {
	m, ok := payload.(wire.Message)
	if !ok {
		return nil, fmt.Errorf("failed to marshal: %v is not a proto message", payload)
	}
	switch contentType {
	case "application/proto", "application/protobuf", "application/octet-stream", "application/grpc", grpcProto:
		return m.Marshal(), nil
	case "application/json", "application/grpc+json":
		return wire.MarshalJSON(m)
	}
	return nil, fmt.Errorf("Unsupported Content-Type: %s", contentType)
}

// metadataWrapper is the services' wrapper.MetaDataWrapper.
func metadataWrapper(p publisher) client.Wrapper {
	return func(c client.Client) client.Client { return &mdClient{Client: c, p: p} }
}

type mdClient struct {
	client.Client
	p publisher
}

func (w *mdClient) Publish(ctx context.Context, msg client.Message, opts ...client.PublishOption) error {
	md, ok := metadata.FromContext(ctx)
	if !ok {
		md = make(map[string]string)
	}
	md["Event_id"] = uuid.New().String()
	md["Timestamp"] = strconv.FormatInt(w.p.now().UnixMilli(), 10)
	md["Source"] = w.p.source
	md["Schema_version"] = w.p.schemaVersion
	return w.Client.Publish(metadata.NewContext(ctx, md), msg, opts...)
}

// otelWrapper has the effect on the headers of the go-micro OpenTelemetry client wrapper
// (v1.2.0, W3C trace-context propagator): a producer span, child of the traceparent of the
// context if there is one, injected as Traceparent.
func otelWrapper(p publisher) client.Wrapper {
	return func(c client.Client) client.Client { return &otelClient{Client: c, p: p} }
}

type otelClient struct {
	client.Client
	p publisher
}

func (w *otelClient) Publish(ctx context.Context, msg client.Message, opts ...client.PublishOption) error {
	md, ok := metadata.FromContext(ctx)
	if !ok {
		md = make(metadata.Metadata)
	}
	parent := w.p.traceparent
	for k, v := range md {
		if strings.EqualFold(k, "traceparent") {
			parent = v
		}
	}
	md.Set("Traceparent", childTraceparent(parent))
	return w.Client.Publish(metadata.NewContext(ctx, md), msg, opts...)
}

// childTraceparent is a new span id under parent's trace, sampled as the parent was (the
// services sample ParentBased(TraceIDRatioBased)); a new sampled trace without a valid parent.
func childTraceparent(parent string) string {
	trace, flags := randomHex(16), "01"
	if parts := strings.Split(parent, "-"); len(parts) == 4 && len(parts[1]) == 32 && len(parts[3]) == 2 {
		trace, flags = parts[1], parts[3]
	}
	return "00-" + trace + "-" + randomHex(8) + "-" + flags
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
