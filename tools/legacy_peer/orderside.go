package main

import (
	"fmt"
	"strings"

	"github.com/product-service/tools/legacy_peer/wire"
	"go-micro.dev/v4/broker"
)

// The eras of the legacy wire format.
const (
	eraV7   = "v7"   // order v7.0.0 / product v8.x: BaseEvent envelope on OrderEvent and ProductEvent
	eraBare = "bare" // order f0633b8 / product 9f93ba3 (untagged, March 2026): the v7 messages bare, topics named after them
	eraV6   = "v6"   // order v3.0.0 to v6.3.2 / product up to v7.0.0: bare, older message schema
)

const dlqSuffix = "DLQ" // the services' dead-letter topic is the topic name + "DLQ"

// topics are the two topics of an era; each has a dead-letter topic of name + "DLQ".
type topics struct {
	order   string // the order service publishes paid orders here
	product string // the product service publishes deductions here
}

func defaultTopics(era, prefix string) topics {
	if era == eraV7 {
		return topics{order: prefix + "OrderEvent", product: prefix + "ProductEvent"}
	}
	return topics{order: prefix + "OnPaymentSuccess", product: prefix + "OnInventoryDeductSuccess"}
}

// subscriptions are the order service's, all with queue (consumer group) "order-consumer":
// v7 (internal/interfaces/subscriber): ProductEvent, ProductEventDLQ, OrderEventDLQ;
// bare and v6 (subscriber/product.go): OnInventoryDeductSuccess, OnPaymentSuccessDLQ,
// OnInventoryDeductSuccessDLQ.
func (t topics) subscriptions() []string {
	return []string{t.product, t.product + dlqSuffix, t.order + dlqSuffix}
}

// handler is one of the order service's event handlers.
type handler struct {
	action  string // what the order service does with the event
	payment bool   // the message is an OnPaymentSuccess (else an OnInventoryDeductSuccess)
	emptyID string // its error for OrderId 0
}

var (
	confirm      = handler{action: "ConfirmPayment", emptyID: "orderId cannot be empty"}
	revertDeduct = handler{action: "RevertPayStatus", emptyID: "orderId cannot be empty"}
	revertPay    = handler{action: "RevertPayStatus", payment: true, emptyID: "order_id cannot be empty"}
)

// v7Handlers: the EventDispatcher's handlers by BaseEvent.event_type. A type registered for
// any topic passes the topic check of every topic (createDispatchFunc only looks it up).
var v7Handlers = map[string]handler{
	"OnInventoryDeductSuccess":    confirm,      // on ProductEvent
	"OnInventoryDeductSuccessDLQ": revertDeduct, // on ProductEventDLQ
	"OnPaymentSuccessDLQ":         revertPay,    // on OrderEventDLQ
}

// verdict is what the order service of the era would do with a record.
type verdict struct {
	Accepted bool   `json:"accepted"`
	Handler  string `json:"handler,omitempty"`
	Action   string `json:"action,omitempty"`
	Error    string `json:"error,omitempty"`
}

// decoded is a record as the order service's subscriber sees it.
type decoded struct {
	ContentType string
	EventType   *string
	Timestamp   *int64
	PayloadType string
	Payload     wire.Message
	DecodeError string
	Verdict     verdict
}

type orderService struct {
	era    string
	topics topics
}

// handle follows the go-micro gRPC server's subscriber (plugins/v4/server/grpc v1.2.0
// createSubHandler) and the order service's handlers; errors carry their texts (but for the
// decoding errors, which are this program's own words).
func (o orderService) handle(topic string, m *broker.Message) (d decoded) {
	if m.Header == nil {
		m.Header = make(map[string]string)
	}
	if m.Header["Content-Type"] == "" {
		m.Header["Content-Type"] = "application/grpc"
	}
	d.ContentType = m.Header["Content-Type"]
	subscribed := false
	for _, s := range o.topics.subscriptions() {
		subscribed = subscribed || s == topic
	}
	if o.era != eraV7 {
		return o.handleBare(topic, m, subscribed, d)
	}
	var be wire.BaseEvent
	if err := unmarshalBody(d.ContentType, m.Body, &be); err != nil {
		return d.fail(err.Error(), err.Error())
	}
	d.EventType, d.Timestamp = &be.EventType, &be.Timestamp
	h, registered := v7Handlers[be.EventType]
	if !registered {
		h.payment = strings.HasPrefix(be.EventType, "OnPaymentSuccess")
	}
	d.PayloadType, d.Payload = payloadOf(o.era, h.payment)
	decodeErr := ""
	if len(be.Payload) == 0 {
		decodeErr = "payload is empty"
	} else if err := d.Payload.Unmarshal(be.Payload); err != nil {
		decodeErr = "failed to unmarshal payload: " + err.Error()
	}
	switch {
	case !subscribed:
		return d.fail(decodeErr, "the order service does not subscribe to "+topic)
	case !registered:
		return d.fail(decodeErr, fmt.Sprintf("subscriber error: event type %s does not belong to topic %s", be.EventType, topic))
	case decodeErr != "":
		return d.fail(decodeErr, "subscriber error: failed to unmarshal event payload: "+decodeErr)
	}
	return d.dispatch(be.EventType, h)
}

func (o orderService) handleBare(topic string, m *broker.Message, subscribed bool, d decoded) decoded {
	h := confirm
	switch topic {
	case o.topics.order + dlqSuffix:
		h = revertPay
	case o.topics.product + dlqSuffix:
		h = revertDeduct
	case o.topics.product:
	default:
		h.payment = strings.Contains(topic, "OnPaymentSuccess")
	}
	d.PayloadType, d.Payload = payloadOf(o.era, h.payment)
	if err := unmarshalBody(d.ContentType, m.Body, d.Payload); err != nil {
		return d.fail(err.Error(), err.Error())
	}
	if !subscribed {
		return d.fail("", "the order service does not subscribe to "+topic)
	}
	return d.dispatch(topic, h)
}

func (d decoded) dispatch(name string, h handler) decoded {
	d.Verdict.Handler = name
	if orderID(d.Payload) == 0 {
		return d.fail("", "subscriber error: rpc error: code = InvalidArgument desc = "+h.emptyID)
	}
	d.Verdict.Accepted, d.Verdict.Action = true, h.action
	return d
}

func (d decoded) fail(decodeErr, err string) decoded {
	d.DecodeError = decodeErr
	d.Verdict.Accepted, d.Verdict.Error = false, err
	return d
}

// unmarshalBody is the gRPC server plugin's codec table for a proto message.
func unmarshalBody(contentType string, body []byte, m wire.Message) error {
	switch contentType {
	case "application/proto", "application/protobuf", "application/octet-stream", "application/grpc", grpcProto:
		return m.Unmarshal(body)
	case "application/json", "application/grpc+json":
		if len(body) == 0 {
			return nil // the plugin's jsonCodec leaves the message empty
		}
		return wire.UnmarshalJSON(body, m)
	case "application/grpc+bytes":
		return fmt.Errorf("failed to unmarshal: %T is not type of *[]byte", m)
	}
	return fmt.Errorf("Unsupported Content-Type: %s", contentType)
}

func payloadOf(era string, payment bool) (string, wire.Message) {
	switch {
	case era == eraV6 && payment:
		return "OnPaymentSuccess", &wire.OnPaymentSuccessV6{}
	case era == eraV6:
		return "OnInventoryDeductSuccess", &wire.OnInventoryDeductSuccessV6{}
	case payment:
		return "OnPaymentSuccess", &wire.OnPaymentSuccess{}
	}
	return "OnInventoryDeductSuccess", &wire.OnInventoryDeductSuccess{}
}

func orderID(m wire.Message) int64 {
	switch v := m.(type) {
	case *wire.OnPaymentSuccess:
		return v.OrderID
	case *wire.OnInventoryDeductSuccess:
		return v.OrderID
	case *wire.OnPaymentSuccessV6:
		return v.OrderID
	case *wire.OnInventoryDeductSuccessV6:
		return v.OrderID
	}
	return 0
}
