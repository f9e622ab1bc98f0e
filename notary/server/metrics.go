package server

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics counts what a notary does, for /metrics in the Prometheus text format (0.0.4),
// written by hand: a few counters and histograms need no library. Safe for concurrent use.
type Metrics struct {
	requests    counterVec // kind, status
	probes      counterVec // result: ok, unreachable, refused, busy, store_error
	probeTime   *histogram
	joins       counterVec // scope: process (joined a probe this process ran), fleet (another member's)
	cacheHits   counterVec // kind: history (answered from the recorded history, no probe)
	signTime    histogramVec
	storeErrors counterVec   // op: history, record, lease
	waiting     atomic.Int64 // queries waiting for a probe's outcome, this member's or another's
	fleetWait   atomic.Int64 // probes this member waits for another member to run
	batches     atomic.Int64 // v2 batch signatures made
	batched     atomic.Int64 // v2 answers signed in them
	storeUp     atomic.Int64 // 1 while the store answers, 0 from a failed call until one succeeds
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		requests:    counterVec{labels: []string{"kind", "status"}},
		probes:      counterVec{labels: []string{"result"}},
		probeTime:   newHistogram(probeBuckets),
		joins:       counterVec{labels: []string{"scope"}},
		cacheHits:   counterVec{labels: []string{"kind"}},
		signTime:    histogramVec{label: "protocol", buckets: signBuckets},
		storeErrors: counterVec{labels: []string{"op"}},
	}
	m.storeUp.Store(1)
	return m
}

var (
	probeBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	signBuckets  = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01}
)

// Request counts one answered request.
func (m *Metrics) Request(kind string, status int) { m.requests.add(1, kind, statusText(status)) }

// statusText is strconv.Itoa(code) without an allocation for the codes a notary sends.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 403:
		return "403"
	case 409:
		return "409"
	case 429:
		return "429"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// StoreError counts one failed store operation.
func (m *Metrics) StoreError(op string) { m.storeErrors.add(1, op) }

// CacheHit counts one answer given without a probe, from what is kept under kind.
func (m *Metrics) CacheHit(kind string) { m.cacheHits.add(1, kind) }

// Signed records how long signing one answer took.
func (m *Metrics) Signed(protocol string, d time.Duration) { m.signTime.observe(protocol, d.Seconds()) }

// BatchSigned records one v2 batch signature over n answers, which took d.
func (m *Metrics) BatchSigned(n int, d time.Duration) {
	m.signTime.observe("v2-batch", d.Seconds())
	m.batches.Add(1)
	m.batched.Add(int64(n))
}

func (m *Metrics) probed(result string, d time.Duration) {
	m.probes.add(1, result)
	m.probeTime.observe(d.Seconds())
}

func (m *Metrics) joined(scope string) { m.joins.add(1, scope) }

// WriteTo writes the metrics in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	m.requests.write(&b, "convergence_notary_requests_total", "Requests answered, by kind (v1, v2, bundle, ...) and HTTP status.")
	m.probes.write(&b, "convergence_notary_probes_total", "Probes this process ran, by result.")
	m.probeTime.write(&b, "convergence_notary_probe_duration_seconds", "How long the probes this process ran took.", "")
	m.joins.write(&b, "convergence_notary_singleflight_joins_total", "Queries answered by a probe they did not run: another query's in this process, or another fleet member's.")
	m.cacheHits.write(&b, "convergence_notary_cache_hits_total", "Answers given without a probe, by what answered them.")
	m.signTime.write(&b, "convergence_notary_sign_duration_seconds", "How long signing one answer (or, for v2-batch, one batch) took, by protocol.")
	m.storeErrors.write(&b, "convergence_notary_store_errors_total", "Failed store operations, by operation.")
	counter(&b, "convergence_notary_v2_batches_total", "v2 batch signatures made (one Merkle root each).", m.batches.Load())
	counter(&b, "convergence_notary_v2_batched_answers_total", "v2 answers signed in batches; over batches_total, the mean batch size.", m.batched.Load())
	gauge(&b, "convergence_notary_probe_waiters", "Queries waiting for a probe's outcome now.", m.waiting.Load())
	gauge(&b, "convergence_notary_fleet_waiters", "Probes this process waits for another fleet member to run now.", m.fleetWait.Load())
	gauge(&b, "convergence_notary_store_up", "1 while the store answers; 0 from a failed call until one succeeds (answers that need it are 503 meanwhile).", m.storeUp.Load())
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func counter(b *strings.Builder, name, help string, v int64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
}

func gauge(b *strings.Builder, name, help string, v int64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
}

// counterVec is a counter per combination of label values.
type counterVec struct {
	labels []string
	mu     sync.Mutex
	vals   map[string]*uint64 // key: label values joined by \x00
}

// add is on every answer's path: the key is built on the stack and looked up without
// a copy; only a new combination of values allocates.
func (c *counterVec) add(n uint64, values ...string) {
	var buf [96]byte
	key := buf[:0]
	for i, v := range values {
		if i > 0 {
			key = append(key, 0)
		}
		key = append(key, v...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.vals[string(key)]; p != nil {
		*p += n
		return
	}
	if c.vals == nil {
		c.vals = map[string]*uint64{}
	}
	p := new(uint64)
	*p = n
	c.vals[string(key)] = p
}

// value returns the counter for values (tests).
func (c *counterVec) value(values ...string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.vals[strings.Join(values, "\x00")]; p != nil {
		return *p
	}
	return 0
}

func (c *counterVec) write(b *strings.Builder, name, help string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	for _, k := range slices.Sorted(mapKeys(c.vals)) {
		fmt.Fprintf(b, "%s{%s} %d\n", name, labelPairs(c.labels, strings.Split(k, "\x00")), *c.vals[k])
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func labelPairs(names, values []string) string {
	var parts []string
	for i, n := range names {
		parts = append(parts, n+"="+strconv.Quote(values[i]))
	}
	return strings.Join(parts, ",")
}

// histogram counts observations in cumulative buckets.
type histogram struct {
	buckets []float64
	mu      sync.Mutex
	counts  []uint64 // per bucket, not cumulative; the last is +Inf
	sum     float64
	n       uint64
}

func newHistogram(buckets []float64) *histogram {
	return &histogram{buckets: buckets, counts: make([]uint64, len(buckets)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.buckets, v)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(b *strings.Builder, name, help, label string) {
	if help != "" {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var cum uint64
	for i, le := range append(slices.Clone(h.buckets), math.Inf(1)) {
		cum += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{%sle=%q} %d\n", name, label, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	open := ""
	if label != "" {
		open = "{" + strings.TrimSuffix(label, ",") + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %s\n%s_count%s %d\n", name, open, strconv.FormatFloat(h.sum, 'g', -1, 64), name, open, h.n)
}

// histogramVec is a histogram per value of one label.
type histogramVec struct {
	label   string
	buckets []float64
	mu      sync.Mutex
	byValue map[string]*histogram
}

func (v *histogramVec) observe(value string, x float64) {
	v.mu.Lock()
	if v.byValue == nil {
		v.byValue = map[string]*histogram{}
	}
	h, ok := v.byValue[value]
	if !ok {
		h = newHistogram(v.buckets)
		v.byValue[value] = h
	}
	v.mu.Unlock()
	h.observe(x)
}

func (v *histogramVec) write(b *strings.Builder, name, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range slices.Sorted(mapKeys(v.byValue)) {
		v.byValue[k].write(b, name, "", v.label+"="+strconv.Quote(k)+",")
	}
}
