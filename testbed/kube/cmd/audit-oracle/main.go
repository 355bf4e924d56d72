// Command audit-oracle answers questions about kube-apiserver's audit subsystem with
// kube-apiserver's own code (k8s.io/apiserver v0.37.2, the version the test bed's kube-apiserver
// is built from), so the gateway's TypeScript port can be tested against it case by case.
//
// Protocol: one JSON object a line on stdin, one JSON object a line on stdout, in the same order.
// A line that cannot be parsed, or names an unknown op, is answered {"error":"oracle: ..."}.
//
//	{"op":"policy","text":"<policy file text, YAML or JSON>"}
//	  → {"ok":true,"policy":<the decoded policy converted to audit.k8s.io/v1, as JSON>,"lenient":bool}
//	  → {"error":"<err.Error() of policy.LoadPolicyFromBytes>"}
//	  "lenient" is true when the strict decoder refused the text (unknown or duplicate fields) and
//	  LoadPolicyFromBytes fell back to lenient decoding, which it logs as a warning
//	  (pkg/audit/policy/reader.go).
//
//	{"op":"evaluate","text":"<policy text>","attributes":{"user":{"username":"..","groups":[..]}|null,
//	  "verb":"..","resourceRequest":bool,"apiGroup":"..","apiVersion":"..","resource":"..",
//	  "subresource":"..","namespace":"..","name":"..","path":".."}}
//	  → {"level":"..","omitStages":[..],"omitManagedFields":bool}
//	  → {"error":".."} when the policy does not load.
//	  policy.NewPolicyRuleEvaluator(p).EvaluatePolicyRule(authorizer.AttributesRecord{...}).
//	  omitStages is as Go returns it: for a matching rule the union of the policy's and the rule's
//	  stages in Go's map order (random), for no match the policy's list as written. Parsed
//	  policies and their evaluators are cached by text.
//
//	{"op":"legacy","event":<audit.k8s.io/v1 Event JSON>}
//	  → {"line":"<audit.EventString(internal event)>"}
//	  apiVersion/kind may be left out (audit.k8s.io/v1 Event is assumed). The timestamp is printed
//	  in the process's local time zone, as kube-apiserver does: run the oracle with TZ set.
//
//	{"op":"truncate","config":{"maxEventSize":N,"maxBatchSize":N},"events":[<v1 Event JSON>,...]}
//	  → {"batches":[[<v1 Event JSON as audit.Codecs.LegacyCodec(v1) encodes it>,...],...],"success":bool}
//	  plugin/pkg/audit/truncate.NewBackend over a recording delegate: each batch is one call of the
//	  delegate's ProcessEvents, in order. Events dropped as too large appear in no batch (the
//	  truncate backend logs them to stderr through audit.HandlePluginError).
//
//	{"op":"negotiate","accept":"<Accept header>"}
//	  → {"negotiable":bool}
//	  negotiation.NegotiateOutputMediaType with DefaultEndpointRestrictions over the codecs of the
//	  API server (JSON, YAML, protobuf), as responsewriters.ErrorNegotiated negotiates: false is
//	  kube-apiserver's 406, and then the Status it writes is not logged in the audit event.
//
//	{"op":"sourceIPs","headers":{"X-Forwarded-For":[..],"X-Real-Ip":[..]},"remoteAddr":"host:port"}
//	  → {"ips":["..",..]}
//	  k8s.io/apimachinery pkg/util/net SourceIPs, as an audit event's sourceIPs are written.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/plugin/pkg/audit/truncate"
)

type request struct {
	Op         string            `json:"op"`
	Text       string            `json:"text"`
	Attributes *attributes       `json:"attributes"`
	Event      json.RawMessage   `json:"event"`
	Config     *truncateConfig   `json:"config"`
	Events     []json.RawMessage `json:"events"`
	Accept     string            `json:"accept"`
	Headers    http.Header       `json:"headers"`
	RemoteAddr string            `json:"remoteAddr"`
}

// The API server's serializers: JSON, YAML and protobuf (CBOR is an alpha feature, off).
var apiCodecs = serializer.NewCodecFactory(runtime.NewScheme())

type truncateConfig struct {
	MaxEventSize int64 `json:"maxEventSize"`
	MaxBatchSize int64 `json:"maxBatchSize"`
}

type attributes struct {
	User *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	Verb            string `json:"verb"`
	ResourceRequest bool   `json:"resourceRequest"`
	APIGroup        string `json:"apiGroup"`
	APIVersion      string `json:"apiVersion"`
	Resource        string `json:"resource"`
	Subresource     string `json:"subresource"`
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	Path            string `json:"path"`
}

type loaded struct {
	policyJSON json.RawMessage
	lenient    bool
	err        error
	evaluator  audit.PolicyRuleEvaluator
}

var (
	cache        = map[string]*loaded{}
	strictDecode = serializer.NewCodecFactory(audit.Scheme, serializer.EnableStrict).UniversalDecoder()
	eventDecoder = audit.Codecs.UniversalDecoder()
	eventEncoder = audit.Codecs.LegacyCodec(auditv1.SchemeGroupVersion)
	defaultGVK   = auditv1.SchemeGroupVersion.WithKind("Event")
)

func load(text string) *loaded {
	if l, ok := cache[text]; ok {
		return l
	}
	l := &loaded{}
	cache[text] = l
	p, err := policy.LoadPolicyFromBytes([]byte(text))
	if err != nil {
		l.err = err
		return l
	}
	// The same first step as LoadPolicyFromBytes, to report whether it fell back to lenient decoding.
	_, _, strictErr := strictDecode.Decode([]byte(text), nil, &auditinternal.Policy{})
	l.lenient = strictErr != nil && runtime.IsStrictDecodingError(strictErr)
	v1 := &auditv1.Policy{}
	if err := audit.Scheme.Convert(p, v1, nil); err != nil {
		l.err = fmt.Errorf("oracle: converting the policy to v1: %w", err)
		return l
	}
	v1.APIVersion = auditv1.SchemeGroupVersion.String()
	v1.Kind = "Policy"
	if l.policyJSON, err = json.Marshal(v1); err != nil {
		l.err = fmt.Errorf("oracle: encoding the policy: %w", err)
		return l
	}
	// NewPolicyRuleEvaluator rewrites the rules' omitStages in place: after the JSON above.
	l.evaluator = policy.NewPolicyRuleEvaluator(p)
	return l
}

func decodeEvent(raw json.RawMessage) (*auditinternal.Event, error) {
	ev := &auditinternal.Event{}
	if _, _, err := eventDecoder.Decode(raw, &defaultGVK, ev); err != nil {
		return nil, fmt.Errorf("oracle: decoding the event: %w", err)
	}
	return ev, nil
}

// recorder is the truncate backend's delegate: it keeps each ProcessEvents call as one batch,
// encoded at once because the caller may reuse the events afterwards (pkg/audit/types.go Sink).
type recorder struct {
	batches [][]json.RawMessage
	err     error
}

func (r *recorder) ProcessEvents(events ...*auditinternal.Event) bool {
	batch := []json.RawMessage{}
	for _, ev := range events {
		b, err := runtime.Encode(eventEncoder, ev)
		if err != nil {
			r.err = err
			return false
		}
		batch = append(batch, json.RawMessage(bytes.TrimSpace(b)))
	}
	r.batches = append(r.batches, batch)
	return true
}
func (r *recorder) Run(<-chan struct{}) error { return nil }
func (r *recorder) Shutdown()                 {}
func (r *recorder) String() string            { return "recorder" }

func answer(req *request) any {
	switch req.Op {
	case "policy":
		l := load(req.Text)
		if l.err != nil {
			return map[string]any{"error": l.err.Error()}
		}
		return map[string]any{"ok": true, "policy": l.policyJSON, "lenient": l.lenient}
	case "evaluate":
		l := load(req.Text)
		if l.err != nil {
			return map[string]any{"error": l.err.Error()}
		}
		if req.Attributes == nil {
			return map[string]any{"error": "oracle: evaluate needs attributes"}
		}
		a := req.Attributes
		record := authorizer.AttributesRecord{
			Verb: a.Verb, Namespace: a.Namespace, APIGroup: a.APIGroup, APIVersion: a.APIVersion,
			Resource: a.Resource, Subresource: a.Subresource, Name: a.Name,
			ResourceRequest: a.ResourceRequest, Path: a.Path,
		}
		// Left a nil interface (not a typed nil) when absent, as for an unauthenticated request.
		if a.User != nil {
			record.User = &user.DefaultInfo{Name: a.User.Username, Groups: a.User.Groups}
		}
		c := l.evaluator.EvaluatePolicyRule(record)
		stages := []string{}
		for _, s := range c.OmitStages {
			stages = append(stages, string(s))
		}
		return map[string]any{"level": c.Level, "omitStages": stages, "omitManagedFields": c.OmitManagedFields}
	case "legacy":
		ev, err := decodeEvent(req.Event)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return map[string]any{"line": audit.EventString(ev)}
	case "negotiate":
		httpReq := &http.Request{Header: http.Header{}}
		if req.Accept != "" {
			httpReq.Header.Set("Accept", req.Accept)
		}
		_, _, err := negotiation.NegotiateOutputMediaType(httpReq, apiCodecs, negotiation.DefaultEndpointRestrictions)
		return map[string]any{"negotiable": err == nil}
	case "sourceIPs":
		httpReq := &http.Request{Header: req.Headers, RemoteAddr: req.RemoteAddr}
		if httpReq.Header == nil {
			httpReq.Header = http.Header{}
		}
		ips := []string{}
		for _, ip := range utilnet.SourceIPs(httpReq) {
			ips = append(ips, ip.String())
		}
		return map[string]any{"ips": ips}
	case "truncate":
		if req.Config == nil {
			return map[string]any{"error": "oracle: truncate needs config"}
		}
		events := make([]*auditinternal.Event, 0, len(req.Events))
		for _, raw := range req.Events {
			ev, err := decodeEvent(raw)
			if err != nil {
				return map[string]any{"error": err.Error()}
			}
			events = append(events, ev)
		}
		rec := &recorder{}
		backend := truncate.NewBackend(rec, truncate.Config{MaxEventSize: req.Config.MaxEventSize, MaxBatchSize: req.Config.MaxBatchSize}, auditv1.SchemeGroupVersion)
		success := backend.ProcessEvents(events...)
		if rec.err != nil {
			return map[string]any{"error": "oracle: encoding an event: " + rec.err.Error()}
		}
		batches := rec.batches
		if batches == nil {
			batches = [][]json.RawMessage{}
		}
		return map[string]any{"batches": batches, "success": success}
	default:
		return map[string]any{"error": fmt.Sprintf("oracle: unknown op %q", req.Op)}
	}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		line := bytes.TrimSpace(in.Bytes())
		if len(line) == 0 {
			continue
		}
		var req request
		var reply any
		if err := json.Unmarshal(line, &req); err != nil {
			reply = map[string]any{"error": "oracle: " + err.Error()}
		} else {
			reply = answer(&req)
		}
		if err := enc.Encode(reply); err != nil {
			fmt.Fprintln(os.Stderr, "audit-oracle:", err)
			os.Exit(1)
		}
		// One answer a line, delivered at once: the client waits for it before asking again.
		if err := out.Flush(); err != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "audit-oracle:", err)
		os.Exit(1)
	}
}
