package wire

import "google.golang.org/protobuf/encoding/protowire"

// The v7 messages (order v7.0.0 proto/order/order_event.proto, product v8.2.0
// proto/product/product_event.proto); also the Body of the short "bare" era of the same
// schema (order f0633b8, product 9f93ba3: no BaseEvent, topics named after the events).

// OnPaymentSuccess is order.event.OnPaymentSuccess {int64 OrderId = 1; repeated OrderDetail OrderDetails = 2}.
type OnPaymentSuccess struct {
	OrderID      int64         `json:"OrderId"`
	OrderDetails []OrderDetail `json:"OrderDetails"`
}

// OrderDetail is order.event.OrderDetail {int64 product_id = 1; int64 sku_id = 2; uint32 quantity = 3}.
type OrderDetail struct {
	ProductID int64  `json:"product_id"`
	SkuID     int64  `json:"sku_id"`
	Quantity  uint32 `json:"quantity"`
}

// OnInventoryDeductSuccess is product.event.OnInventoryDeductSuccess {int64 OrderId = 1; repeated SkuInfo Sku = 2}.
type OnInventoryDeductSuccess struct {
	OrderID int64     `json:"OrderId"`
	Sku     []SkuInfo `json:"Sku"`
}

// SkuInfo is product.event.SkuInfo {int64 Id = 1; uint32 Quantity = 2; uint32 Stock = 3; uint32 Threshold = 4}.
type SkuInfo struct {
	ID        int64  `json:"Id"`
	Quantity  uint32 `json:"Quantity"`
	Stock     uint32 `json:"Stock"`
	Threshold uint32 `json:"Threshold"`
}

func (*OnPaymentSuccess) FullName() string         { return "order.event.OnPaymentSuccess" }
func (*OnInventoryDeductSuccess) FullName() string { return "product.event.OnInventoryDeductSuccess" }

func (m *OnPaymentSuccess) Marshal() []byte {
	b := appendVarint(nil, 1, uint64(m.OrderID))
	for _, d := range m.OrderDetails {
		var e []byte
		e = appendVarint(e, 1, uint64(d.ProductID))
		e = appendVarint(e, 2, uint64(d.SkuID))
		e = appendVarint(e, 3, uint64(d.Quantity))
		b = appendMessage(b, 2, e)
	}
	return b
}

func (m *OnPaymentSuccess) Unmarshal(b []byte) error {
	*m = OnPaymentSuccess{OrderDetails: []OrderDetail{}}
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			m.OrderID = int64(v)
		case num == 2 && typ == protowire.BytesType:
			var d OrderDetail
			err := walk(bs, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				if typ != protowire.VarintType {
					return nil
				}
				switch num {
				case 1:
					d.ProductID = int64(v)
				case 2:
					d.SkuID = int64(v)
				case 3:
					d.Quantity = uint32(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			m.OrderDetails = append(m.OrderDetails, d)
		}
		return nil
	})
}

func (m *OnInventoryDeductSuccess) Marshal() []byte {
	b := appendVarint(nil, 1, uint64(m.OrderID))
	for _, s := range m.Sku {
		var e []byte
		e = appendVarint(e, 1, uint64(s.ID))
		e = appendVarint(e, 2, uint64(s.Quantity))
		e = appendVarint(e, 3, uint64(s.Stock))
		e = appendVarint(e, 4, uint64(s.Threshold))
		b = appendMessage(b, 2, e)
	}
	return b
}

func (m *OnInventoryDeductSuccess) Unmarshal(b []byte) error {
	*m = OnInventoryDeductSuccess{Sku: []SkuInfo{}}
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			m.OrderID = int64(v)
		case num == 2 && typ == protowire.BytesType:
			var s SkuInfo
			err := walk(bs, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				if typ != protowire.VarintType {
					return nil
				}
				switch num {
				case 1:
					s.ID = int64(v)
				case 2:
					s.Quantity = uint32(v)
				case 3:
					s.Stock = uint32(v)
				case 4:
					s.Threshold = uint32(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			m.Sku = append(m.Sku, s)
		}
		return nil
	})
}
