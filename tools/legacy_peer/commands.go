package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Shopify/sarama"
	"github.com/product-service/tools/legacy_peer/wire"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/codec/json"
	"go-micro.dev/v4/metadata"
)

type commonFlags struct {
	fs                   *flag.FlagSet
	brokers, era, prefix string
}

func newFlags(name string) *commonFlags {
	c := &commonFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(os.Stderr)
	c.fs.StringVar(&c.brokers, "brokers", "127.0.0.1:9092", "Kafka bootstrap servers, comma-separated")
	c.fs.StringVar(&c.era, "era", eraV7, "v7 (BaseEvent on OrderEvent/ProductEvent), bare (v7 messages without BaseEvent, topics named after them) or v6 (bare, the older schema)")
	c.fs.StringVar(&c.prefix, "topic-prefix", "", "prepended to every legacy topic name")
	return c
}

func (c *commonFlags) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if c.era != eraV7 && c.era != eraBare && c.era != eraV6 {
		return usageError("--era must be v7, bare or v6")
	}
	return nil
}

func (c *commonFlags) given(name string) bool {
	found := false
	c.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func (c *commonFlags) addrs() []string { return splitList(c.brokers) }
func (c *commonFlags) topics() topics  { return defaultTopics(c.era, c.prefix) }

func contentType(s string) string {
	switch s {
	case "proto":
		return grpcProto
	case "json":
		return "application/json"
	}
	return s
}

// teeBroker passes messages on (to nothing on a dry run) and keeps the last one.
type teeBroker struct {
	broker.Broker
	topic string
	last  *broker.Message
}

func (t *teeBroker) Publish(topic string, m *broker.Message, opts ...broker.PublishOption) error {
	t.topic, t.last = topic, m
	if t.Broker == nil {
		return nil
	}
	return t.Broker.Publish(topic, m, opts...)
}

// connect gives the service's broker, or on a dry run none (values from the same codec).
func connect(c *commonFlags, dry bool, rec *recorder, h broker.Handler, cluster *sarama.Config) (broker.Broker, func(), error) {
	if dry {
		return nil, func() {}, nil
	}
	b := newBroker(c.addrs(), rec, h, cluster)
	if err := b.Connect(); err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", c.brokers, err)
	}
	broker.DefaultBroker = b // as the order service does; its dead-letter code calls broker.Publish
	return b, func() { b.Disconnect() }, nil
}

func value(rec *recorder, dry bool, m *broker.Message) []byte {
	if dry {
		b, _ := rec.Marshal(m)
		return b
	}
	return rec.take()
}

func publishedRecord(topic string, v []byte, m *broker.Message, err error) map[string]interface{} {
	r := map[string]interface{}{"topic": topic, "value": string(v), "key": nil, "header": m.Header,
		"body_b64": base64.StdEncoding.EncodeToString(m.Body)}
	if err != nil {
		r["error"] = err.Error()
	}
	return r
}

func cmdPublish(args []string, out *lines) error {
	c := newFlags("publish")
	orderID := c.fs.Int64("order-id", 0, "the order id (OrderId, and the Pkey header)")
	var lineArgs, headerArgs repeated
	c.fs.Var(&lineArgs, "line", "an order line SKU:QTY[:PRODUCT] (repeatable)")
	c.fs.Var(&headerArgs, "header", "K=V metadata of the gRPC call (PayNotify) the publish happens in (repeatable)")
	ct := c.fs.String("content-type", "proto", "proto (application/grpc+proto, the service's), json (application/json) or a content type")
	times := c.fs.Int("times", 1, "publish the record this many times")
	fresh := c.fs.Bool("fresh", false, "with --times: run the whole publish path each time instead of repeating the record")
	tp := c.fs.String("traceparent", "", "traceparent of the span the publish happens in (default: a new trace)")
	source := c.fs.String("source", "go.micro.service.Order", "the service name (Source header)")
	version := c.fs.String("schema-version", "latest", "the service version (Schema_version header)")
	topic := c.fs.String("topic", "", "the topic (default: OrderEvent, or OnPaymentSuccess before v7, after --topic-prefix)")
	dry := c.fs.Bool("dry-run", false, "print the record without Kafka")
	if err := c.parse(args); err != nil {
		return err
	}
	if !c.given("order-id") {
		return usageError("publish needs --order-id")
	}
	msg, err := paymentMessage(c.era, *orderID, lineArgs)
	if err != nil {
		return err
	}
	md, err := keyValues(headerArgs)
	if err != nil {
		return err
	}
	if *topic == "" {
		*topic = c.topics().order
	}
	rec := &recorder{}
	b, closeBroker, err := connect(c, *dry, rec, nil, nil)
	if err != nil {
		return err
	}
	defer closeBroker()
	p := publisher{era: c.era, source: *source, schemaVersion: *version, contentType: contentType(*ct),
		traceparent: *tp, now: time.Now}
	tee := &teeBroker{Broker: b}
	for i := 0; i < *times; i++ {
		if i == 0 || *fresh {
			ctx := metadata.NewContext(context.Background(), metadata.Metadata(md))
			err = p.publish(ctx, tee, *topic, msg, strconv.FormatInt(*orderID, 10), "OnPaymentSuccess")
		} else {
			err = tee.Publish(tee.topic, tee.last)
		}
		if tee.last == nil {
			return err
		}
		r := publishedRecord(tee.topic, value(rec, *dry, tee.last), tee.last, err)
		describeBody(r, orderService{era: c.era, topics: c.topics()}, tee.last)
		out.write(map[string]interface{}{"published": r})
		if err != nil {
			return err
		}
	}
	return nil
}

// describeBody adds the decoded Body to a printed record.
func describeBody(r map[string]interface{}, o orderService, m *broker.Message) {
	ct := m.Header["Content-Type"]
	r["era"], r["content_type"] = o.era, ct
	var payload wire.Message
	if o.era == eraV7 {
		var be wire.BaseEvent
		if unmarshalBody(ct, m.Body, &be) != nil {
			return
		}
		r["event_type"], r["timestamp"] = be.EventType, be.Timestamp
		_, payload = payloadOf(o.era, strings.HasPrefix(be.EventType, "OnPaymentSuccess"))
		r["payload_b64"] = base64.StdEncoding.EncodeToString(be.Payload)
		if payload.Unmarshal(be.Payload) != nil {
			return
		}
	} else {
		_, payload = payloadOf(o.era, m.Header["Micro-Topic"] == o.topics.order)
		if unmarshalBody(ct, m.Body, payload) != nil {
			return
		}
	}
	r["payload"] = payload
}

func paymentMessage(era string, orderID int64, lineArgs []string) (wire.Message, error) {
	v7 := &wire.OnPaymentSuccess{OrderID: orderID, OrderDetails: []wire.OrderDetail{}}
	v6 := &wire.OnPaymentSuccessV6{OrderID: orderID, Products: []wire.ProductInventoryItem{}}
	for _, l := range lineArgs {
		n, err := numbers(l, 2, 3)
		if err != nil {
			return nil, usageError(fmt.Sprintf("--line %q: want SKU:QTY[:PRODUCT] (%v)", l, err))
		}
		v7.OrderDetails = append(v7.OrderDetails, wire.OrderDetail{SkuID: n[0], Quantity: uint32(n[1]), ProductID: n[2]})
		v6.Products = append(v6.Products, wire.ProductInventoryItem{ProductSizeID: n[0], ProductNum: n[1], ProductID: n[2]})
	}
	if era == eraV6 {
		return v6, nil
	}
	return v7, nil
}

// numbers parses colon-separated integers, min to max of them; missing ones are 0.
func numbers(s string, min, max int) ([]int64, error) {
	parts := strings.Split(s, ":")
	if len(parts) < min || len(parts) > max {
		return nil, fmt.Errorf("%d to %d numbers", min, max)
	}
	n := make([]int64, max)
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	return n, nil
}

func cmdPublishRaw(args []string, out *lines) error {
	c := newFlags("publish-raw")
	topic := c.fs.String("topic", "", "the topic")
	val := c.fs.String("value", "", "the record value")
	valB64 := c.fs.String("value-b64", "", "the record value, base64")
	key := c.fs.String("key", "", "the record key (default: none)")
	times := c.fs.Int("times", 1, "write the record this many times")
	var headerArgs repeated
	c.fs.Var(&headerArgs, "header", "K=V record header (repeatable)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *topic == "" || c.given("value") == c.given("value-b64") {
		return usageError("publish-raw needs --topic and one of --value, --value-b64")
	}
	v := []byte(*val)
	if c.given("value-b64") {
		var err error
		if v, err = base64.StdEncoding.DecodeString(*valB64); err != nil {
			return usageError("--value-b64: " + err.Error())
		}
	}
	headers, err := keyValues(headerArgs)
	if err != nil {
		return err
	}
	p, err := sarama.NewSyncProducer(c.addrs(), producerConfig())
	if err != nil {
		return err
	}
	defer p.Close()
	for i := 0; i < *times; i++ {
		pm := &sarama.ProducerMessage{Topic: *topic, Value: sarama.ByteEncoder(v)}
		r := map[string]interface{}{"topic": *topic, "value": string(v), "value_b64": base64.StdEncoding.EncodeToString(v),
			"key": nil, "record_headers": headers}
		if c.given("key") {
			pm.Key, r["key"] = sarama.StringEncoder(*key), *key
		}
		for _, k := range sortedKeys(headers) {
			pm.Headers = append(pm.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(headers[k])})
		}
		partition, offset, err := p.SendMessage(pm)
		r["partition"], r["offset"] = partition, offset
		if err != nil {
			r["error"] = err.Error()
		}
		out.write(map[string]interface{}{"published": r})
		if err != nil {
			return err
		}
	}
	return nil
}

func cmdReject(args []string, out *lines) error {
	c := newFlags("reject")
	raw := c.fs.String("value", "", "the record value the order service consumed (as consume prints it)")
	orderID := c.fs.Int64("order-id", 0, "without --value: the order of the OnInventoryDeductSuccess the product service published")
	var skuArgs repeated
	c.fs.Var(&skuArgs, "sku", "with --order-id: a deducted SKU ID:QTY[:STOCK[:THRESHOLD]] (repeatable)")
	topic := c.fs.String("topic", "", "the topic it was consumed from (default: ProductEvent, or OnInventoryDeductSuccess before v7)")
	cause := c.fs.String("error", "", "the handler's error (default: the order service's own for this record, or a FailedPrecondition)")
	typeKey := c.fs.String("event-type-key", "Event_type", "the header the Event-Type of the dead letter is made from: Event_type as order v7 (gives \"DLQ\"), Event-Type as meant")
	source := c.fs.String("source", "go.micro.service.product", "with --order-id: the product service's name (Source header)")
	dry := c.fs.Bool("dry-run", false, "print the dead letter without Kafka")
	if err := c.parse(args); err != nil {
		return err
	}
	if c.given("value") == c.given("order-id") {
		return usageError("reject needs one of --value, --order-id")
	}
	if *topic == "" {
		*topic = c.topics().product
	}
	m, causeErr, err := consumedMessage(c, *raw, *orderID, skuArgs, *source, *topic)
	if err != nil {
		return err
	}
	if causeErr == nil {
		o := orderService{era: c.era, topics: c.topics()}
		causeErr = errors.New("subscriber error: rpc error: code = FailedPrecondition desc = refused by legacy_peer")
		if d := o.handle(*topic, m); !d.Verdict.Accepted && !strings.HasPrefix(d.Verdict.Error, "the order service does not") {
			causeErr = errors.New(d.Verdict.Error)
		}
	}
	if c.given("error") {
		causeErr = errors.New(*cause)
	}
	rec := &recorder{}
	b, closeBroker, err := connect(c, *dry, rec, nil, nil)
	if err != nil {
		return err
	}
	defer closeBroker()
	tee := &teeBroker{Broker: b}
	dlqTopic, dl, err := deadLetter(tee, c.era, *topic, m, causeErr, *typeKey, time.Now)
	if dl == nil {
		out.write(map[string]interface{}{"republished": nil, "reason": "a record of a DLQ topic is only logged and acked"})
		return nil
	}
	r := publishedRecord(dlqTopic, value(rec, *dry, dl), dl, err)
	describeBody(r, orderService{era: c.era, topics: c.topics()}, dl)
	out.write(map[string]interface{}{"republished": r})
	return err
}

// consumedMessage is the broker.Message the order service's handlers saw: the record value
// decoded by the plugin (on a JSON error: no header, the raw value as Body, and that error),
// Micro-Topic set to the topic and Content-Type defaulted, as the plugin does.
func consumedMessage(c *commonFlags, raw string, orderID int64, skuArgs []string, source, topic string) (*broker.Message, error, error) {
	v := []byte(raw)
	if raw == "" {
		var err error
		if v, err = productRecord(c, orderID, skuArgs, source); err != nil {
			return nil, nil, err
		}
	}
	m := &broker.Message{}
	if err := (json.Marshaler{}).Unmarshal(v, m); err != nil {
		m.Body = v
		return m, err, nil
	}
	if m.Header == nil {
		m.Header = map[string]string{}
	}
	m.Header["Micro-Topic"] = topic
	if _, ok := m.Header["Content-Type"]; !ok {
		m.Header["Content-Type"] = "application/json"
	}
	return m, nil, nil
}

// productRecord is the record value of the product service's OnInventoryDeductSuccess
// (product v8.2.0: the same publish path as the order service's, on ProductEvent).
func productRecord(c *commonFlags, orderID int64, skuArgs []string, source string) ([]byte, error) {
	v7 := &wire.OnInventoryDeductSuccess{OrderID: orderID, Sku: []wire.SkuInfo{}}
	v6 := &wire.OnInventoryDeductSuccessV6{OrderID: orderID, Products: []wire.InventoryItem{}, ProductSizes: []wire.InventoryItem{}}
	for _, s := range skuArgs {
		n, err := numbers(s, 2, 4)
		if err != nil {
			return nil, usageError(fmt.Sprintf("--sku %q: want ID:QTY[:STOCK[:THRESHOLD]] (%v)", s, err))
		}
		v7.Sku = append(v7.Sku, wire.SkuInfo{ID: n[0], Quantity: uint32(n[1]), Stock: uint32(n[2]), Threshold: uint32(n[3])})
		v6.ProductSizes = append(v6.ProductSizes, wire.InventoryItem{ID: n[0], Count: n[1]})
	}
	var msg wire.Message = v7
	if c.era == eraV6 {
		msg = v6
	}
	p := publisher{era: c.era, source: source, schemaVersion: "latest", contentType: grpcProto, now: time.Now}
	tee := &teeBroker{}
	if err := p.publish(context.Background(), tee, c.topics().product, msg, strconv.FormatInt(orderID, 10), "OnInventoryDeductSuccess"); err != nil {
		return nil, err
	}
	return (json.Marshaler{}).Marshal(tee.last)
}

func cmdConsume(args []string, out *lines, stderr io.Writer) int {
	c := newFlags("consume")
	group := c.fs.String("group", "order-consumer", "the consumer group (go-micro queue)")
	topicList := c.fs.String("topics", "", "comma-separated topics (default: the order service's subscriptions of the era)")
	outFile := c.fs.String("out", "", "append the lines to this file instead of stdout")
	until := c.fs.Int("until-count", 0, "exit 0 after this many records")
	timeout := c.fs.Float64("timeout", 0, "exit after this many seconds (3 if --until-count was not reached)")
	fromStart := c.fs.Bool("from-start", false, "a group without committed offsets starts at the oldest offset (the plugin's default: newest)")
	republish := c.fs.Bool("republish-failures", false, "dead-letter the records the order service would refuse, as its error handler does")
	typeKey := c.fs.String("event-type-key", "Event_type", "with --republish-failures: see reject")
	settle := c.fs.Duration("settle", 500*time.Millisecond, "wait after the assignment before printing ready")
	if err := c.parse(args); err != nil {
		fmt.Fprintln(stderr, "legacy_peer:", err)
		return 2
	}
	// Before anything is subscribed: a SIGTERM then still leaves the group cleanly.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	names := splitList(*topicList)
	if len(names) == 0 {
		names = c.topics().subscriptions()
	}
	if *outFile != "" {
		f, err := os.OpenFile(*outFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "legacy_peer:", err)
			return 1
		}
		defer f.Close()
		out = &lines{w: f}
	}
	clientID := fmt.Sprintf("legacy-peer-%d", os.Getpid())
	cons := &consumer{order: orderService{era: c.era, topics: c.topics()}, out: out, republish: *republish,
		typeKey: *typeKey, rec: &recorder{}, printed: map[*broker.Message]bool{}, reached: make(chan struct{}), until: *until}
	b, closeBroker, err := connect(c, false, cons.rec, cons.errorHandler, consumerConfig(*fromStart, clientID))
	if err != nil {
		fmt.Fprintln(stderr, "legacy_peer:", err)
		return 1
	}
	defer closeBroker()
	cons.b = b
	for _, t := range names {
		if _, err := b.Subscribe(t, cons.handle, broker.Queue(*group)); err != nil {
			fmt.Fprintln(stderr, "legacy_peer: subscribe", t+":", err)
			return 1
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if n, err := awaitAssignment(ctx, c.addrs(), *group, clientID, names, *settle); err == nil {
			out.write(map[string]interface{}{"ready": map[string]interface{}{"group": *group, "topics": names, "partitions": n}})
		}
	}()
	var deadline <-chan time.Time
	if *timeout > 0 {
		deadline = time.After(time.Duration(*timeout * float64(time.Second)))
	}
	select {
	case <-cons.reached:
		return 0
	case <-signals:
		return 0
	case <-deadline:
		if *until > 0 {
			fmt.Fprintf(stderr, "legacy_peer: %d of %d records after %gs\n", cons.count, *until, *timeout)
			return 3
		}
		return 0
	}
}

func cmdTopics(args []string, out *lines) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "delete" && args[0] != "delete-group" && args[0] != "list") {
		return usageError("topics create|delete|delete-group|list ...")
	}
	c := newFlags("topics " + args[0])
	partitions := c.fs.Int("partitions", 1, "partitions of each new topic")
	prefix := c.fs.String("prefix", "", "list: only the topics and groups whose names start so")
	if err := c.parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "list" {
		return listTopics(c.addrs(), *prefix, out)
	}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_0_0_0
	admin, err := sarama.NewClusterAdmin(c.addrs(), cfg)
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, t := range c.fs.Args() {
		if args[0] == "delete-group" {
			err = admin.DeleteConsumerGroup(t)
			if errors.Is(err, sarama.ErrGroupIDNotFound) {
				err = nil
			}
		} else if args[0] == "create" {
			err = admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: int32(*partitions), ReplicationFactor: 1}, false)
			if errors.Is(err, sarama.ErrTopicAlreadyExists) {
				err = nil
			}
		} else {
			err = admin.DeleteTopic(t)
			if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", args[0], t, err)
		}
		done := map[string]string{"create": "created", "delete": "deleted", "delete-group": "deleted_group"}[args[0]]
		out.write(map[string]interface{}{done: t})
	}
	return nil
}

func listTopics(addrs []string, prefix string, out *lines) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_0_0_0
	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		return err
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return err
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		return err
	}
	for _, set := range []struct {
		kind  string
		names []string
	}{{"topic", keysOf(topics)}, {"group", keysOf(groups)}} {
		sort.Strings(set.names)
		for _, n := range set.names {
			if strings.HasPrefix(n, prefix) {
				out.write(map[string]string{set.kind: n})
			}
		}
	}
	return nil
}

func keysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
