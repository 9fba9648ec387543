package main

import (
	"strconv"
	"strings"
	"time"

	"go-micro.dev/v4/broker"
)

// deadLetter is the order service's broker ErrorHandler (internal/infrastructure/event/
// wrapper/deadletter.go), called by the Kafka plugin for a record that did not decode as
// JSON or whose handler failed: nothing for a topic ending in DLQ (logged and acked);
// otherwise the record is republished to <topic>DLQ with its headers, the error as x-error,
// a new Timestamp and Micro-Topic, and the same Body (so the BaseEvent's event_type is
// unchanged). v7 also sets Event-Type to header["Event_type"] + "DLQ": that key is never set
// (the services write "Event-Type"), so the header becomes "DLQ"; eventTypeKey "Event-Type"
// gives what was meant (and what product v8.2.0's copy of the handler does).
func deadLetter(b broker.Broker, era, topic string, m *broker.Message, cause error, eventTypeKey string, now func() time.Time) (string, *broker.Message, error) {
	if strings.HasSuffix(topic, dlqSuffix) {
		return "", nil, nil
	}
	dlqTopic := topic + dlqSuffix
	if m.Header == nil {
		m.Header = make(map[string]string)
	}
	if v, ok := m.Header["Traceparent"]; ok {
		m.Header["traceparent"] = v
	}
	if era == eraV7 {
		m.Header["Event-Type"] = m.Header[eventTypeKey] + dlqSuffix
	}
	header := map[string]string{"x-error": cause.Error()}
	for k, v := range m.Header {
		header[k] = v
	}
	header["Timestamp"] = strconv.FormatInt(now().UnixMilli(), 10)
	header["Micro-Topic"] = dlqTopic
	out := &broker.Message{Header: header, Body: append([]byte{}, m.Body...)}
	return dlqTopic, out, b.Publish(dlqTopic, out)
}
