package wire

import "google.golang.org/protobuf/encoding/protowire"

// The messages of the tagged bare era (order v3.0.0 to v6.3.2, product up to v7.0.0): no
// BaseEvent, topics named after the events, and an older schema whose field numbers mean
// other things than in v7 (field 2 of an order line was product_num, now sku_id).

// OnPaymentSuccessV6 is order v6.3.2's order.event.OnPaymentSuccess
// {int64 OrderId = 1; repeated ProductInventoryItem products = 2}.
type OnPaymentSuccessV6 struct {
	OrderID  int64                  `json:"OrderId"`
	Products []ProductInventoryItem `json:"products"`
}

// ProductInventoryItem is {int64 product_id = 1; int64 product_num = 2; int64 product_size_id = 3}.
type ProductInventoryItem struct {
	ProductID     int64 `json:"product_id"`
	ProductNum    int64 `json:"product_num"`
	ProductSizeID int64 `json:"product_size_id"`
}

// OnInventoryDeductSuccessV6 is product v7.0.0's product.event.OnInventoryDeductSuccess
// {int64 OrderId = 1; repeated ProductInventoryItem Products = 2; repeated ProductSizeInventoryItem ProductSizes = 3},
// both item messages {int64 Id = 1; int64 Count = 2}.
type OnInventoryDeductSuccessV6 struct {
	OrderID      int64           `json:"OrderId"`
	Products     []InventoryItem `json:"Products"`
	ProductSizes []InventoryItem `json:"ProductSizes"`
}

// InventoryItem is product v7.0.0's ProductInventoryItem and ProductSizeInventoryItem {int64 Id = 1; int64 Count = 2}.
type InventoryItem struct {
	ID    int64 `json:"Id"`
	Count int64 `json:"Count"`
}

func (*OnPaymentSuccessV6) FullName() string         { return "order.event.OnPaymentSuccess" }
func (*OnInventoryDeductSuccessV6) FullName() string { return "product.event.OnInventoryDeductSuccess" }

func (m *OnPaymentSuccessV6) Marshal() []byte {
	b := appendVarint(nil, 1, uint64(m.OrderID))
	for _, p := range m.Products {
		var e []byte
		e = appendVarint(e, 1, uint64(p.ProductID))
		e = appendVarint(e, 2, uint64(p.ProductNum))
		e = appendVarint(e, 3, uint64(p.ProductSizeID))
		b = appendMessage(b, 2, e)
	}
	return b
}

func (m *OnPaymentSuccessV6) Unmarshal(b []byte) error {
	*m = OnPaymentSuccessV6{Products: []ProductInventoryItem{}}
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			m.OrderID = int64(v)
		case num == 2 && typ == protowire.BytesType:
			var p ProductInventoryItem
			err := walk(bs, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				if typ != protowire.VarintType {
					return nil
				}
				switch num {
				case 1:
					p.ProductID = int64(v)
				case 2:
					p.ProductNum = int64(v)
				case 3:
					p.ProductSizeID = int64(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			m.Products = append(m.Products, p)
		}
		return nil
	})
}

func (m *OnInventoryDeductSuccessV6) Marshal() []byte {
	b := appendVarint(nil, 1, uint64(m.OrderID))
	for _, p := range m.Products {
		b = appendMessage(b, 2, p.marshal())
	}
	for _, p := range m.ProductSizes {
		b = appendMessage(b, 3, p.marshal())
	}
	return b
}

func (m *OnInventoryDeductSuccessV6) Unmarshal(b []byte) error {
	*m = OnInventoryDeductSuccessV6{Products: []InventoryItem{}, ProductSizes: []InventoryItem{}}
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			m.OrderID = int64(v)
		case (num == 2 || num == 3) && typ == protowire.BytesType:
			var it InventoryItem
			if err := it.unmarshal(bs); err != nil {
				return err
			}
			if num == 2 {
				m.Products = append(m.Products, it)
			} else {
				m.ProductSizes = append(m.ProductSizes, it)
			}
		}
		return nil
	})
}

func (it InventoryItem) marshal() []byte {
	return appendVarint(appendVarint(nil, 1, uint64(it.ID)), 2, uint64(it.Count))
}

func (it *InventoryItem) unmarshal(b []byte) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		if typ == protowire.VarintType && num == 1 {
			it.ID = int64(v)
		} else if typ == protowire.VarintType && num == 2 {
			it.Count = int64(v)
		}
		return nil
	})
}
