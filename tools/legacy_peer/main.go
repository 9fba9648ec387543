// Command legacy_peer behaves on the wire as the legacy Go order service (go-micro v4.11.0
// with the Kafka broker plugin v1.2.0 and sarama v1.30.1) does, so that tests can drive the
// product service with it. Every command prints JSON lines on stdout; see usage.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

const usage = `legacy_peer COMMAND [flags]   (every command: --brokers, default 127.0.0.1:9092)

  publish      --order-id N [--line SKU:QTY[:PRODUCT]]... [--era v7|bare|v6]
               [--content-type proto|json|TYPE] [--times K] [--fresh] [--header K=V]...
               [--traceparent TP] [--source S] [--schema-version V] [--topic T] [--dry-run]
      a paid order as the order service publishes it (topic OrderEvent, or OnPaymentSuccess
      before v7), through go-micro's broker and the Kafka plugin; --times repeats the same
      record value, --fresh runs the publish path again each time (new Event_id, Timestamp,
      Traceparent). Prints {"published": {...}} per record.
  publish-raw  --topic T (--value S | --value-b64 B) [--key K] [--header K=V]... [--times K]
      an arbitrary record, with sarama directly (the plugin writes only its JSON envelope,
      without key or record headers) on the services' producer config.
  reject       (--value RAW | --order-id N [--sku ID:QTY[:STOCK[:THRESHOLD]]]...) [--topic T]
               [--error TEXT] [--event-type-key Event_type|Event-Type] [--era ...] [--dry-run]
      what the order service's error handler publishes to <topic>DLQ (ProductEventDLQ)
      when it refuses a record it consumed from T (ProductEvent): RAW as consume printed
      it, or the OnInventoryDeductSuccess the product service would have published.
  consume      [--group order-consumer] [--topics T1,T2] [--out FILE] [--until-count N]
               [--timeout S] [--from-start] [--republish-failures] [--era ...]
      subscribes as the order service does (default: ProductEvent, ProductEventDLQ,
      OrderEventDLQ, queue order-consumer; a new group starts at the newest offset, as the
      plugin's default does, --from-start at the oldest). One JSON line per record, written
      as it arrives; {"ready": ...} once the group's partitions are assigned here. Exit 3 if
      --timeout passes before --until-count records.
  topics       create [--partitions N] T... | delete T... | delete-group G... | list [--prefix P]
      admin of the tests' own topics and consumer groups

  --topic-prefix P puts P before every legacy topic name (dead-letter topics stay <topic>DLQ).
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	out := &lines{w: stdout}
	var err error
	switch args[0] {
	case "publish":
		err = cmdPublish(args[1:], out)
	case "publish-raw":
		err = cmdPublishRaw(args[1:], out)
	case "reject":
		err = cmdReject(args[1:], out)
	case "consume":
		return cmdConsume(args[1:], out, stderr)
	case "topics":
		err = cmdTopics(args[1:], out)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	if err != nil {
		fmt.Fprintln(stderr, "legacy_peer:", err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	return 0
}

type usageError string

func (e usageError) Error() string { return string(e) }

// lines writes one JSON value per line, unbuffered: a test reads the file while it grows.
type lines struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lines) write(v interface{}) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, b.String())
}

// repeated is a flag that may be given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func keyValues(kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError(fmt.Sprintf("%q is not KEY=VALUE", kv))
		}
		m[k] = v
	}
	return m, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
