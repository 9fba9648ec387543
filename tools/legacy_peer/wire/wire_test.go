package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Each case's bytes are written from the .proto files: a tag is (field number << 3 | wire
// type), 0 = varint, 2 = length-delimited; varints are little-endian groups of 7 bits.
var cases = []struct {
	name string
	msg  Message
	wire []byte
}{
	{"BaseEvent", &BaseEvent{Timestamp: 300, EventType: "Ev", Payload: []byte{0x08, 0x2A}},
		[]byte{0x10, 0xAC, 0x02, 0x1A, 0x02, 'E', 'v', 0x22, 0x02, 0x08, 0x2A}},
	{"BaseEvent zero fields omitted", &BaseEvent{EventType: "OnPaymentSuccess"},
		append([]byte{0x1A, 0x10}, "OnPaymentSuccess"...)},
	{"OnPaymentSuccess", &OnPaymentSuccess{OrderID: 42, OrderDetails: []OrderDetail{
		{ProductID: 7, SkuID: 1001, Quantity: 2}, {SkuID: 5, Quantity: 1}}},
		[]byte{0x08, 0x2A,
			0x12, 0x07, 0x08, 0x07, 0x10, 0xE9, 0x07, 0x18, 0x02,
			0x12, 0x04, 0x10, 0x05, 0x18, 0x01}},
	{"OnPaymentSuccess negative id is a 10-byte varint", &OnPaymentSuccess{OrderID: -1, OrderDetails: []OrderDetail{}},
		[]byte{0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
	{"OnInventoryDeductSuccess", &OnInventoryDeductSuccess{OrderID: 42, Sku: []SkuInfo{
		{ID: 1001, Quantity: 2, Stock: 98, Threshold: 10}, {}}},
		[]byte{0x08, 0x2A,
			0x12, 0x09, 0x08, 0xE9, 0x07, 0x10, 0x02, 0x18, 0x62, 0x20, 0x0A,
			0x12, 0x00}},
	{"OnPaymentSuccessV6", &OnPaymentSuccessV6{OrderID: 3, Products: []ProductInventoryItem{
		{ProductID: 7, ProductNum: 2, ProductSizeID: 1001}}},
		[]byte{0x08, 0x03, 0x12, 0x07, 0x08, 0x07, 0x10, 0x02, 0x18, 0xE9, 0x07}},
	{"OnInventoryDeductSuccessV6", &OnInventoryDeductSuccessV6{OrderID: 3,
		Products: []InventoryItem{{ID: 7, Count: 2}}, ProductSizes: []InventoryItem{{ID: 1001, Count: 2}}},
		[]byte{0x08, 0x03, 0x12, 0x04, 0x08, 0x07, 0x10, 0x02, 0x1A, 0x05, 0x08, 0xE9, 0x07, 0x10, 0x02}},
}

func fresh(m Message) Message { return reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message) }

func TestMarshalWritesTheBytesOfTheSpec(t *testing.T) {
	for _, c := range cases {
		if got := c.msg.Marshal(); !bytes.Equal(got, c.wire) {
			t.Errorf("%s: Marshal = % X, want % X", c.name, got, c.wire)
		}
	}
}

func TestUnmarshalReadsTheBytesOfTheSpec(t *testing.T) {
	for _, c := range cases {
		got := fresh(c.msg)
		if err := got.Unmarshal(c.wire); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.msg) {
			t.Errorf("%s: Unmarshal = %+v, want %+v", c.name, got, c.msg)
		}
	}
}

// Go's proto.Marshal of a message of the same schema gives the same bytes, and reads ours.
func TestEncodingAgreesWithGoProtobuf(t *testing.T) {
	for _, c := range cases {
		md, err := Descriptor(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		dyn := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(c.wire, dyn); err != nil {
			t.Fatalf("%s: proto.Unmarshal: %v", c.name, err)
		}
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(dyn)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, c.wire) {
			t.Errorf("%s: proto.Marshal = % X, ours % X", c.name, again, c.wire)
		}
	}
}

func TestUnmarshalSkipsUnknownFieldsAndMismatchedWireTypes(t *testing.T) {
	b := []byte{
		0x08, 0x01, // OrderId = 1
		0x7D, 1, 2, 3, 4, // field 15, fixed32: unknown
		0x0A, 0x01, 'x', // field 1 as bytes: a wire type that does not match, skipped
		0x4A, 0x00, // field 9, empty bytes: unknown
		0x08, 0x2A, // OrderId again: the last value wins
	}
	var m OnInventoryDeductSuccess
	if err := m.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if m.OrderID != 42 || len(m.Sku) != 0 {
		t.Errorf("got %+v", m)
	}
}

func TestUnmarshalRefusesBrokenInput(t *testing.T) {
	for name, b := range map[string][]byte{
		"truncated length":    {0x12, 0x05, 0x08},
		"truncated varint":    {0x08, 0x80},
		"field number zero":   {0x00, 0x01},
		"broken inner record": {0x12, 0x02, 0x08, 0x80},
	} {
		var m OnPaymentSuccess
		if err := m.Unmarshal(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	var e BaseEvent
	if err := e.Unmarshal([]byte{0x1A, 0x01, 0xFF}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8 in event_type: %v", err)
	}
}

func TestJSONIsProtojsonOfTheLegacySchema(t *testing.T) {
	b, err := MarshalJSON(&BaseEvent{Timestamp: 1700000000123, EventType: "OnPaymentSuccess", Payload: []byte{0x08, 0x2A}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"timestamp": "1700000000123", "eventType": "OnPaymentSuccess", "payload": "CCo="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("protojson = %s", b)
	}
	b, err = MarshalJSON(&OnPaymentSuccess{OrderID: 42, OrderDetails: []OrderDetail{{ProductID: 7, SkuID: 1001, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"OrderId": "42", "OrderDetails": []any{map[string]any{"productId": "7", "skuId": "1001", "quantity": 2.0}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("protojson = %s", b)
	}
	var back OnPaymentSuccess
	// protojson reads the proto names and numbers for int64 too.
	if err := UnmarshalJSON([]byte(`{"OrderId": 42, "OrderDetails": [{"sku_id": "1001", "quantity": 2}]}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.OrderID != 42 || back.OrderDetails[0].SkuID != 1001 || back.OrderDetails[0].Quantity != 2 {
		t.Errorf("got %+v", back)
	}
	if err := UnmarshalJSON([]byte(`{"orderId": 1, "extra": true}`), &back); err == nil {
		t.Error("an unknown JSON field is accepted")
	}
}
