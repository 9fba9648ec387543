package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/Shopify/sarama"
	"go-micro.dev/v4/broker"
)

// recordLine is what consume prints for each record.
type recordLine struct {
	Topic         string            `json:"topic"`
	Partition     *int32            `json:"partition"`
	Offset        *int64            `json:"offset"`
	Key           *string           `json:"key"`
	RecordHeaders map[string]string `json:"record_headers"`
	Value         *string           `json:"value"`
	ValueB64      string            `json:"value_b64"`
	Header        map[string]string `json:"header"`
	ContentType   string            `json:"content_type,omitempty"`
	EventType     *string           `json:"event_type"`
	Timestamp     *int64            `json:"timestamp"`
	PayloadType   string            `json:"payload_type,omitempty"`
	Payload       interface{}       `json:"payload"`
	DecodeError   *string           `json:"decode_error"`
	OrderService  verdict           `json:"order_service"`
}

// consumer subscribes as the order service does (the Kafka plugin's Subscribe, one consumer
// group member per topic, all with the same queue) and prints each record.
type consumer struct {
	order     orderService
	out       *lines
	republish bool   // dead-letter what the order service would refuse, as it does
	typeKey   string // the header deadLetter reads the event type from
	b         broker.Broker
	rec       *recorder

	mu      sync.Mutex
	printed map[*broker.Message]bool
	count   int
	reached chan struct{}
	until   int
}

func (c *consumer) handle(ev broker.Event) error {
	m := ev.Message()
	d := c.order.handle(ev.Topic(), m)
	c.markPrinted(m)
	c.print(ev, d)
	if c.republish && !d.Verdict.Accepted {
		return errors.New(d.Verdict.Error) // the plugin hands it to errorHandler, as in the service
	}
	return nil
}

// errorHandler gets the records that are not JSON (the plugin never calls handle for those)
// and, with republish, those that handle refused.
func (c *consumer) errorHandler(ev broker.Event) error {
	if !c.wasPrinted(ev.Message()) {
		msg := ev.Error().Error()
		c.print(ev, decoded{DecodeError: msg, Verdict: verdict{Error: msg}})
	}
	var err error
	if c.republish {
		var topic string
		var out *broker.Message
		topic, out, err = deadLetter(c.b, c.order.era, ev.Topic(), ev.Message(), ev.Error(), c.typeKey, time.Now)
		if out != nil {
			c.out.write(map[string]interface{}{"republished": publishedRecord(topic, c.rec.take(), out, err)})
		}
	}
	if ackErr := ev.Ack(); ackErr != nil && err == nil {
		err = ackErr
	}
	return err
}

func (c *consumer) markPrinted(m *broker.Message) {
	c.mu.Lock()
	c.printed[m] = true
	c.mu.Unlock()
}

func (c *consumer) wasPrinted(m *broker.Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.printed[m]
	delete(c.printed, m)
	return seen
}

func (c *consumer) print(ev broker.Event, d decoded) {
	line := recordLine{Topic: ev.Topic(), Header: ev.Message().Header, ContentType: d.ContentType,
		EventType: d.EventType, Timestamp: d.Timestamp, PayloadType: d.PayloadType, OrderService: d.Verdict}
	if d.Payload != nil {
		line.Payload = d.Payload
	}
	if d.DecodeError != "" {
		line.DecodeError = &d.DecodeError
	}
	if km := consumerMessage(ev); km != nil {
		line.Partition, line.Offset = &km.Partition, &km.Offset
		if km.Key != nil {
			k := string(km.Key)
			line.Key = &k
		}
		line.RecordHeaders = map[string]string{}
		for _, h := range km.Headers {
			line.RecordHeaders[string(h.Key)] = string(h.Value)
		}
		line.ValueB64 = base64.StdEncoding.EncodeToString(km.Value)
		if utf8.Valid(km.Value) {
			v := string(km.Value)
			line.Value = &v
		}
	}
	c.out.write(line)
	c.mu.Lock()
	c.count++
	if c.until > 0 && c.count == c.until {
		close(c.reached)
	}
	c.mu.Unlock()
}

// consumerMessage is the Kafka record behind an event of the plugin (its unexported field
// publication.km), for the partition, offset, key, record headers and exact value.
func consumerMessage(ev broker.Event) *sarama.ConsumerMessage {
	v := reflect.ValueOf(ev)
	if v.Kind() != reflect.Ptr || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("km")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*sarama.ConsumerMessage)(nil)) {
		return nil
	}
	return *(**sarama.ConsumerMessage)(unsafe.Pointer(f.UnsafeAddr()))
}

// awaitAssignment reports once every partition of the topics is assigned to this process's
// members of the group. With the plugin's default (newest offset for a new group) records
// written before its partition consumers asked for the newest offset are not read: settle
// covers that step, which follows the assignment within milliseconds.
func awaitAssignment(ctx context.Context, addrs []string, group, clientID string, topicNames []string, settle time.Duration) (int, error) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_0_0_0
	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	for {
		want, got, err := assigned(admin, group, clientID, topicNames)
		if err == nil && want > 0 && want == got {
			select {
			case <-time.After(settle):
				return want, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func assigned(admin sarama.ClusterAdmin, group, clientID string, topicNames []string) (want, got int, err error) {
	meta, err := admin.DescribeTopics(topicNames)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range meta {
		if t.Err != sarama.ErrNoError {
			return 0, 0, t.Err
		}
		want += len(t.Partitions)
	}
	groups, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil || len(groups) != 1 {
		return want, 0, fmt.Errorf("describe group: %v", err)
	}
	if groups[0].State != "Stable" {
		return want, 0, nil
	}
	for _, m := range groups[0].Members {
		if m.ClientId != clientID {
			continue
		}
		a, err := m.GetMemberAssignment()
		if err != nil || a == nil {
			continue
		}
		for _, name := range topicNames {
			got += len(a.Topics[name])
		}
	}
	return want, got, nil
}
