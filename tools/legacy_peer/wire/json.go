package wire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// MarshalJSON encodes m as go-micro's gRPC codec for application/json does (protojson with
// its default options), through a dynamic message of the same schema.
func MarshalJSON(m Message) ([]byte, error) {
	dyn, err := dynamic(m)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(m.Marshal(), dyn); err != nil {
		return nil, err
	}
	return protojson.Marshal(dyn)
}

// UnmarshalJSON decodes protojson as that codec does (unknown fields are an error).
func UnmarshalJSON(data []byte, m Message) error {
	dyn, err := dynamic(m)
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(data, dyn); err != nil {
		return err
	}
	b, err := proto.Marshal(dyn)
	if err != nil {
		return err
	}
	return m.Unmarshal(b)
}

// Descriptor is the schema of m, as its legacy .proto file declares it.
func Descriptor(m Message) (protoreflect.MessageDescriptor, error) {
	files := schemaV7
	switch m.(type) {
	case *OnPaymentSuccessV6, *OnInventoryDeductSuccessV6:
		files = schemaV6
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(m.FullName()))
	if err != nil {
		return nil, err
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a message", m.FullName())
	}
	return md, nil
}

func dynamic(m Message) (*dynamicpb.Message, error) {
	md, err := Descriptor(m)
	if err != nil {
		return nil, err
	}
	return dynamicpb.NewMessage(md), nil
}

var (
	schemaV7 = mustFiles(
		file("base_event.proto", "common",
			message("BaseEvent",
				scalar("timestamp", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("event_type", 3, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				scalar("payload", 4, descriptorpb.FieldDescriptorProto_TYPE_BYTES))),
		file("order/order_event.proto", "order.event",
			message("OnPaymentSuccess",
				scalar("OrderId", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				repeated("OrderDetails", 2, ".order.event.OrderDetail")),
			message("OrderDetail",
				scalar("product_id", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("sku_id", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("quantity", 3, descriptorpb.FieldDescriptorProto_TYPE_UINT32))),
		file("product/product_event.proto", "product.event",
			message("OnInventoryDeductSuccess",
				scalar("OrderId", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				repeated("Sku", 2, ".product.event.SkuInfo")),
			message("SkuInfo",
				scalar("Id", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("Quantity", 2, descriptorpb.FieldDescriptorProto_TYPE_UINT32),
				scalar("Stock", 3, descriptorpb.FieldDescriptorProto_TYPE_UINT32),
				scalar("Threshold", 4, descriptorpb.FieldDescriptorProto_TYPE_UINT32))),
	)
	schemaV6 = mustFiles(
		file("order/order_event.proto", "order.event",
			message("OnPaymentSuccess",
				scalar("OrderId", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				repeated("products", 2, ".order.event.ProductInventoryItem")),
			message("ProductInventoryItem",
				scalar("product_id", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("product_num", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("product_size_id", 3, descriptorpb.FieldDescriptorProto_TYPE_INT64))),
		file("product/product_event.proto", "product.event",
			message("OnInventoryDeductSuccess",
				scalar("OrderId", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				repeated("Products", 2, ".product.event.ProductInventoryItem"),
				repeated("ProductSizes", 3, ".product.event.ProductSizeInventoryItem")),
			message("ProductInventoryItem",
				scalar("Id", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("Count", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64)),
			message("ProductSizeInventoryItem",
				scalar("Id", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				scalar("Count", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64))),
	)
)

func mustFiles(fds ...*descriptorpb.FileDescriptorProto) *protoregistry.Files {
	files := new(protoregistry.Files)
	for _, fd := range fds {
		f, err := protodesc.NewFile(fd, files)
		if err != nil {
			panic(err)
		}
		if err := files.RegisterFile(f); err != nil {
			panic(err)
		}
	}
	return files
}

func file(name, pkg string, msgs ...*descriptorpb.DescriptorProto) *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name: proto.String(name), Package: proto.String(pkg), Syntax: proto.String("proto3"), MessageType: msgs,
	}
}

func message(name string, fields ...*descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto {
	return &descriptorpb.DescriptorProto{Name: proto.String(name), Field: fields}
}

func scalar(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
	return &descriptorpb.FieldDescriptorProto{
		Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(),
		Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
	}
}

func repeated(name string, num int32, typeName string) *descriptorpb.FieldDescriptorProto {
	return &descriptorpb.FieldDescriptorProto{
		Name: proto.String(name), Number: proto.Int32(num), TypeName: proto.String(typeName),
		Type:  descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
		Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(),
	}
}
