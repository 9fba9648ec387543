package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/product-service/tools/legacy_peer/wire"
	"go-micro.dev/v4/broker"
	microjson "go-micro.dev/v4/codec/json"
	"go-micro.dev/v4/metadata"
)

var fixed = time.UnixMilli(1700000000123)

func publishOne(t *testing.T, p publisher, ctx context.Context, topic string, msg wire.Message) (string, *broker.Message) {
	t.Helper()
	cb := &captureBroker{}
	if p.now == nil {
		p.now = func() time.Time { return fixed }
	}
	if err := p.publish(ctx, cb, topic, msg, "42", "OnPaymentSuccess"); err != nil {
		t.Fatal(err)
	}
	got, m, err := cb.only()
	if err != nil {
		t.Fatal(err)
	}
	return got, m
}

var (
	uuidRE        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)
	order42       = &wire.OnPaymentSuccess{OrderID: 42, OrderDetails: []wire.OrderDetail{{ProductID: 7, SkuID: 1001, Quantity: 2}}}
)

func TestV7PublishesTheOrderServicesHeaderSet(t *testing.T) {
	p := publisher{era: eraV7, source: "go.micro.service.Order", schemaVersion: "latest", contentType: grpcProto}
	topic, m := publishOne(t, p, context.Background(), "OrderEvent", order42)
	if topic != "OrderEvent" {
		t.Errorf("topic %q", topic)
	}
	h := m.Header
	if !uuidRE.MatchString(h["Event_id"]) || !traceparentRE.MatchString(h["Traceparent"]) {
		t.Errorf("Event_id %q, Traceparent %q", h["Event_id"], h["Traceparent"])
	}
	delete(h, "Event_id")
	delete(h, "Traceparent")
	want := map[string]string{
		"Content-Type": "application/grpc+proto", "Micro-Topic": "OrderEvent", "Event-Type": "OnPaymentSuccess",
		"Pkey": "42", "Timestamp": "1700000000123", "Source": "go.micro.service.Order", "Schema_version": "latest",
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("header %v, want %v", h, want)
	}
	var be wire.BaseEvent
	if err := be.Unmarshal(m.Body); err != nil {
		t.Fatal(err)
	}
	want2 := wire.BaseEvent{Timestamp: 1700000000123, EventType: "OnPaymentSuccess", Payload: order42.Marshal()}
	if !reflect.DeepEqual(be, want2) {
		t.Errorf("body %+v", be)
	}
}

// The record value is the plugin codec's JSON of broker.Message: keys sorted, Body base64.
func TestTheRecordValueIsTheJSONEnvelope(t *testing.T) {
	v, err := microjson.Marshaler{}.Marshal(&broker.Message{Header: map[string]string{"b": "2", "a": "1"}, Body: []byte{0x08, 0x2A}})
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != `{"Header":{"a":"1","b":"2"},"Body":"CCo="}` {
		t.Errorf("value %s", v)
	}
}

// The metadata of the gRPC call the publish happens in reaches the headers, title-cased by
// go-micro's metadata.FromContext; a traceparent in it is the parent of the producer span.
func TestCallMetadataIsTitleCasedAndParentsTheSpan(t *testing.T) {
	parent := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	ctx := metadata.NewContext(context.Background(), metadata.Metadata{
		":authority": "order:9000", "user-agent": "grpc-go/1.53.0", "traceparent": parent, "Pkey": "7"})
	_, m := publishOne(t, publisher{era: eraV7, contentType: grpcProto}, ctx, "OrderEvent", order42)
	h := m.Header
	if h[":Authority"] != "order:9000" || h["User-Agent"] != "grpc-go/1.53.0" || h["Pkey"] != "7" {
		t.Errorf("header %v", h)
	}
	if _, lower := h["traceparent"]; lower || !strings.HasPrefix(h["Traceparent"], "00-0af7651916cd43dd8448eb211c80319c-") ||
		h["Traceparent"] == parent {
		t.Errorf("Traceparent %q", h["Traceparent"])
	}
}

func TestBareErasPublishTheEventItselfWithoutEventType(t *testing.T) {
	for _, era := range []string{eraBare, eraV6} {
		msg, err := paymentMessage(era, 42, []string{"1001:2:7"})
		if err != nil {
			t.Fatal(err)
		}
		_, m := publishOne(t, publisher{era: era, contentType: grpcProto}, context.Background(), "OnPaymentSuccess", msg)
		if _, ok := m.Header["Event-Type"]; ok || m.Header["Micro-Topic"] != "OnPaymentSuccess" || m.Header["Pkey"] != "42" {
			t.Errorf("%s: header %v", era, m.Header)
		}
		if string(m.Body) != string(msg.Marshal()) {
			t.Errorf("%s: body % X", era, m.Body)
		}
	}
	v6, _ := paymentMessage(eraV6, 42, []string{"1001:2:7"})
	if want := (&wire.OnPaymentSuccessV6{OrderID: 42, Products: []wire.ProductInventoryItem{{ProductID: 7, ProductNum: 2, ProductSizeID: 1001}}}); !reflect.DeepEqual(v6, want) {
		t.Errorf("v6 line: %+v", v6)
	}
}

func TestJSONContentTypeWritesProtojson(t *testing.T) {
	_, m := publishOne(t, publisher{era: eraV7, contentType: "application/json"}, context.Background(), "OrderEvent", order42)
	var body map[string]string
	if err := json.Unmarshal(m.Body, &body); err != nil {
		t.Fatalf("%s: %v", m.Body, err)
	}
	if body["eventType"] != "OnPaymentSuccess" || body["timestamp"] != "1700000000123" || body["payload"] != "CCoSBwgHEOkHGAI=" {
		t.Errorf("body %s", m.Body)
	}
}

func v7Record(t *testing.T, topic, eventType string, payload wire.Message) *broker.Message {
	be := &wire.BaseEvent{Timestamp: 1, EventType: eventType}
	if payload != nil {
		be.Payload = payload.Marshal()
	}
	return &broker.Message{Header: map[string]string{"Content-Type": grpcProto, "Micro-Topic": topic}, Body: be.Marshal()}
}

func TestOrderServiceV7DispatchesOnTheEventType(t *testing.T) {
	o := orderService{era: eraV7, topics: defaultTopics(eraV7, "")}
	success := &wire.OnInventoryDeductSuccess{OrderID: 42, Sku: []wire.SkuInfo{{ID: 1001, Quantity: 2}}}
	refusal := &wire.OnPaymentSuccess{OrderID: 42}
	for _, c := range []struct {
		topic, eventType string
		payload          wire.Message
		want             verdict
	}{
		{"ProductEvent", "OnInventoryDeductSuccess", success, verdict{Accepted: true, Handler: "OnInventoryDeductSuccess", Action: "ConfirmPayment"}},
		{"OrderEventDLQ", "OnPaymentSuccessDLQ", refusal, verdict{Accepted: true, Handler: "OnPaymentSuccessDLQ", Action: "RevertPayStatus"}},
		{"ProductEventDLQ", "OnInventoryDeductSuccessDLQ", success, verdict{Accepted: true, Handler: "OnInventoryDeductSuccessDLQ", Action: "RevertPayStatus"}},
		// any registered type passes the topic check of any topic
		{"ProductEventDLQ", "OnInventoryDeductSuccess", success, verdict{Accepted: true, Handler: "OnInventoryDeductSuccess", Action: "ConfirmPayment"}},
		{"OrderEventDLQ", "OnPaymentSuccess", refusal, verdict{Error: "subscriber error: event type OnPaymentSuccess does not belong to topic OrderEventDLQ"}},
		{"ProductEvent", "OnInventoryDeductSuccess", nil, verdict{Error: "subscriber error: failed to unmarshal event payload: payload is empty"}},
		{"ProductEvent", "OnInventoryDeductSuccess", &wire.OnInventoryDeductSuccess{}, verdict{Error: "subscriber error: failed to unmarshal event payload: payload is empty"}},
		{"OrderEventDLQ", "OnPaymentSuccessDLQ", &wire.OnPaymentSuccess{OrderDetails: []wire.OrderDetail{{SkuID: 1}}}, verdict{Handler: "OnPaymentSuccessDLQ", Error: "subscriber error: rpc error: code = InvalidArgument desc = order_id cannot be empty"}},
		{"OrderEvent", "OnPaymentSuccess", refusal, verdict{Error: "the order service does not subscribe to OrderEvent"}},
	} {
		d := o.handle(c.topic, v7Record(t, c.topic, c.eventType, c.payload))
		if d.Verdict != c.want {
			t.Errorf("%s %s: %+v, want %+v", c.topic, c.eventType, d.Verdict, c.want)
		}
	}
	d := o.handle("ProductEvent", v7Record(t, "ProductEvent", "OnInventoryDeductSuccess", success))
	if !reflect.DeepEqual(d.Payload, success) || *d.EventType != "OnInventoryDeductSuccess" || d.PayloadType != "OnInventoryDeductSuccess" {
		t.Errorf("decoded %+v", d)
	}
}

func TestOrderServiceDecodesByContentType(t *testing.T) {
	o := orderService{era: eraV7, topics: defaultTopics(eraV7, "")}
	m := v7Record(t, "ProductEvent", "OnInventoryDeductSuccess", &wire.OnInventoryDeductSuccess{OrderID: 1})
	m.Header["Content-Type"] = "text/plain"
	if d := o.handle("ProductEvent", m); d.Verdict.Error != "Unsupported Content-Type: text/plain" || d.DecodeError == "" {
		t.Errorf("%+v", d)
	}
	js := &broker.Message{Header: map[string]string{"Content-Type": "application/json"},
		Body: []byte(`{"timestamp": "5", "eventType": "OnInventoryDeductSuccess", "payload": "CAE="}`)}
	if d := o.handle("ProductEvent", js); !d.Verdict.Accepted || *d.Timestamp != 5 {
		t.Errorf("json: %+v", d)
	}
	empty := &broker.Message{Header: map[string]string{"Content-Type": ""}, Body: []byte{0x10, 0x01}}
	if d := o.handle("ProductEvent", empty); d.ContentType != "application/grpc" || empty.Header["Content-Type"] != "application/grpc" {
		t.Errorf("an empty Content-Type is the gRPC server's default: %+v", d)
	}
}

func TestBareOrderServiceDispatchesOnTheTopic(t *testing.T) {
	o := orderService{era: eraBare, topics: defaultTopics(eraBare, "")}
	body := (&wire.OnInventoryDeductSuccess{OrderID: 42}).Marshal()
	for topic, action := range map[string]string{"OnInventoryDeductSuccess": "ConfirmPayment", "OnInventoryDeductSuccessDLQ": "RevertPayStatus"} {
		d := o.handle(topic, &broker.Message{Header: map[string]string{"Content-Type": grpcProto}, Body: body})
		if !d.Verdict.Accepted || d.Verdict.Action != action {
			t.Errorf("%s: %+v", topic, d.Verdict)
		}
	}
	d := o.handle("OnPaymentSuccessDLQ", &broker.Message{Header: map[string]string{"Content-Type": grpcProto}, Body: []byte{0x08, 0x2A}})
	if p, ok := d.Payload.(*wire.OnPaymentSuccess); !ok || p.OrderID != 42 || d.Verdict.Action != "RevertPayStatus" {
		t.Errorf("refusal: %+v", d)
	}
}

func TestDeadLetterIsTheOrderServicesErrorHandler(t *testing.T) {
	in := v7Record(t, "ProductEvent", "OnInventoryDeductSuccess", &wire.OnInventoryDeductSuccess{OrderID: 42})
	in.Header["Event-Type"] = "OnInventoryDeductSuccess"
	in.Header["Traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	in.Header["Timestamp"] = "1"
	cb := &captureBroker{}
	topic, out, err := deadLetter(cb, eraV7, "ProductEvent", in, errors.New("subscriber error: boom"), "Event_type", func() time.Time { return fixed })
	if err != nil || topic != "ProductEventDLQ" || cb.topics[0] != "ProductEventDLQ" {
		t.Fatalf("%s %v", topic, err)
	}
	want := map[string]string{
		"Content-Type": grpcProto, "Micro-Topic": "ProductEventDLQ", "Event-Type": "DLQ", "x-error": "subscriber error: boom",
		"Timestamp": "1700000000123", "Traceparent": in.Header["Traceparent"], "traceparent": in.Header["Traceparent"],
	}
	if !reflect.DeepEqual(out.Header, want) || string(out.Body) != string(in.Body) {
		t.Errorf("header %v", out.Header)
	}
	_, fixedType, _ := deadLetter(&captureBroker{}, eraV7, "ProductEvent", &broker.Message{Header: map[string]string{"Event-Type": "OnInventoryDeductSuccess"}}, errors.New("x"), "Event-Type", time.Now)
	if fixedType.Header["Event-Type"] != "OnInventoryDeductSuccessDLQ" {
		t.Errorf("Event-Type key: %v", fixedType.Header)
	}
	if topic, out, _ := deadLetter(cb, eraV7, "ProductEventDLQ", in, errors.New("x"), "Event_type", time.Now); topic != "" || out != nil || len(cb.msgs) != 1 {
		t.Errorf("a DLQ topic's failure is republished")
	}
	_, bare, _ := deadLetter(&captureBroker{}, eraBare, "OnInventoryDeductSuccess", &broker.Message{}, errors.New("x"), "Event_type", time.Now)
	if _, ok := bare.Header["Event-Type"]; ok || bare.Header["Micro-Topic"] != "OnInventoryDeductSuccessDLQ" {
		t.Errorf("bare: %v", bare.Header)
	}
}

func TestRejectWithoutAValueUsesTheProductServicesRecord(t *testing.T) {
	c := newFlags("reject")
	if err := c.parse(nil); err != nil {
		t.Fatal(err)
	}
	m, cause, err := consumedMessage(c, "", 42, []string{"1001:2:98:10"}, "go.micro.service.product", "ProductEvent")
	if err != nil || cause != nil {
		t.Fatal(err, cause)
	}
	if m.Header["Event-Type"] != "OnInventoryDeductSuccess" || m.Header["Micro-Topic"] != "ProductEvent" || m.Header["Source"] != "go.micro.service.product" {
		t.Errorf("header %v", m.Header)
	}
	_, _, err = consumedMessage(c, "not json", 0, nil, "", "ProductEvent")
	if err != nil {
		t.Fatal(err)
	}
	m, cause, _ = consumedMessage(c, "not json", 0, nil, "", "ProductEvent")
	if cause == nil || m.Header != nil || string(m.Body) != "not json" {
		t.Errorf("a value that is not JSON: %v %+v", cause, m)
	}
}
