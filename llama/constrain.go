package llama

import "math/bits"

// The automaton that recognises the prefixes of the documents of a
// JSONSchema, one byte at a time. Its state is a stack of frames, one per
// open value (the root, objects, arrays, strings, numbers, literals).

type frameKind uint8

const (
	fRoot frameKind = iota
	fObject
	fArray
	fString
	fNumber
	fLit
)

// Sub-states of the root, object and array frames.
const (
	rStart uint8 = iota // root: before the value
	rIn                 // root: the value is open
	rDone               // root: the document is complete
)

const (
	oOpen  uint8 = iota // after '{'
	oKey                // inside a key
	oColon              // after a key, before ':'
	oValue              // after ':', before the value
	oIn                 // the value is open
	oAfter              // after a value, before ',' or '}'
	oComma              // after ',', before a key
)

const (
	aOpen  uint8 = iota // after '['
	aIn                 // an item is open
	aAfter              // after an item, before ',' or ']'
	aComma              // after ',', before an item
)

// frame is one open value.
type frame struct {
	n    *schemaNode
	kind frameKind
	st   uint8
	ws   uint8 // whitespace bytes in the current run
	// string: 0 normal, 1 after '\', 2..5 expecting the 1st..4th hex digit of \u
	esc     uint8
	hex1    uint8 // first hex digit of a \u escape
	utfNeed uint8 // continuation bytes still expected
	utfLo   uint8 // range of the next continuation byte
	utfHi   uint8
	extraOK bool   // object key: may still be an additional property
	seen    uint64 // object: properties written (or being written)
	cand    uint64 // object key: unseen matching properties; literal: matching alternatives
	all     uint64 // object key: all matching properties
	pos     int32  // object key / literal: bytes matched
	cur     int32  // object: property of the current value (-1: additional)
	count   int32  // array: items started; string: runes written
	ncost   int32  // number: numCost(num), cached
	num     numState
}

// machine is the automaton state.
type machine struct {
	stack []frame
}

func newMachine(root *schemaNode) machine {
	st := make([]frame, 1, 8)
	st[0] = frame{n: root, kind: fRoot}
	return machine{stack: st}
}

func (m *machine) copyFrom(o *machine) {
	m.stack = append(m.stack[:0], o.stack...)
}

func isWS(b byte) bool { return b == ' ' || b == '\n' || b == '\t' }

func isExtraKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

var (
	anyObjectNode = AnyJSONObject().root
	anyArrayNode  = &schemaNode{kind: kindArray, items: anyNode, maxItems: -1, maxLength: -1, lo: anyNode.lo, hi: anyNode.hi, minLen: 2}
	anyStringNode = &schemaNode{kind: kindString, maxItems: -1, maxLength: -1, lo: anyNode.lo, hi: anyNode.hi, minLen: 2}
	anyNumberNode = &schemaNode{kind: kindNumber, maxItems: -1, maxLength: -1, lo: anyNode.lo, hi: anyNode.hi, minLen: 1}
	boolNode      = &schemaNode{kind: kindEnum, lits: [][]byte{[]byte("true"), []byte("false")}, minLen: 4}
	nullNode      = &schemaNode{kind: kindEnum, lits: [][]byte{[]byte("null")}, minLen: 4}
)

// done reports whether the document is complete and nothing may follow.
func (m *machine) done() bool {
	return len(m.stack) == 1 && m.stack[0].st == rDone
}

// complete reports whether the bytes so far form a complete document
// (a final number or literal may still be open).
func (m *machine) complete() bool {
	for i := len(m.stack) - 1; i >= 1; i-- {
		f := &m.stack[i]
		switch f.kind {
		case fNumber:
			if f.ncost != 0 {
				return false
			}
		case fLit:
			if !litTerminal(f) {
				return false
			}
		default:
			return false
		}
		if i > 1 {
			return false // an enclosing container is still open
		}
	}
	return len(m.stack) == 2 || m.stack[0].st == rDone
}

func litTerminal(f *frame) bool {
	for c := f.cand; c != 0; c &= c - 1 {
		if len(f.n.lits[bits.TrailingZeros64(c)]) == int(f.pos) {
			return true
		}
	}
	return false
}

// feed advances the automaton by b and reports whether b is allowed. On
// false the state is left unspecified (callers work on copies).
func (m *machine) feed(b byte) bool {
	for {
		top := &m.stack[len(m.stack)-1]
		switch top.kind {
		case fRoot:
			switch top.st {
			case rStart:
				if isWS(b) {
					return m.space(top)
				}
				top.st = rIn
				return m.start(top.n, b)
			}
			return false
		case fObject:
			return m.feedObject(top, b)
		case fArray:
			return m.feedArray(top, b)
		case fString:
			return m.feedString(top, b)
		case fNumber:
			ns, ok := numFeed(top.num, b, top.n)
			if ok {
				c := numCost(ns, top.n)
				if c < 0 {
					return false
				}
				top.num, top.ncost = ns, int32(c)
				return true
			}
			if top.ncost != 0 {
				return false
			}
			m.pop()
			continue // b belongs to the enclosing value
		case fLit:
			var c uint64
			for x := top.cand; x != 0; x &= x - 1 {
				i := bits.TrailingZeros64(x)
				if l := top.n.lits[i]; int(top.pos) < len(l) && l[top.pos] == b {
					c |= 1 << uint(i)
				}
			}
			if c != 0 {
				top.cand = c
				top.pos++
				m.closeLit(top)
				return true
			}
			if !litTerminal(top) {
				return false
			}
			m.pop()
			continue
		}
		return false
	}
}

// closeLit pops a literal that is complete and cannot continue.
func (m *machine) closeLit(f *frame) {
	for x := f.cand; x != 0; x &= x - 1 {
		if len(f.n.lits[bits.TrailingZeros64(x)]) > int(f.pos) {
			return
		}
	}
	m.pop()
}

func (m *machine) space(f *frame) bool {
	if f.ws >= MaxWhitespace {
		return false
	}
	f.ws++
	return true
}

// pop closes the top value and advances its parent.
func (m *machine) pop() {
	m.stack = m.stack[:len(m.stack)-1]
	p := &m.stack[len(m.stack)-1]
	p.ws = 0
	switch p.kind {
	case fRoot:
		p.st = rDone
	case fObject:
		p.st = oAfter
	case fArray:
		p.st = aAfter
	}
}

// start opens a value of schema n whose first byte is b.
func (m *machine) start(n *schemaNode, b byte) bool {
	if len(m.stack) > maxDepth {
		return false
	}
	m.stack[len(m.stack)-1].ws = 0
	if n.kind == kindAny {
		switch {
		case b == '{':
			n = anyObjectNode
		case b == '[':
			n = anyArrayNode
		case b == '"':
			n = anyStringNode
		case b == '-' || b >= '0' && b <= '9':
			n = anyNumberNode
		case b == 't' || b == 'f':
			n = boolNode
		case b == 'n':
			n = nullNode
		default:
			return false
		}
	}
	switch n.kind {
	case kindObject:
		if b != '{' {
			return false
		}
		m.stack = append(m.stack, frame{n: n, kind: fObject, st: oOpen})
		return true
	case kindArray:
		if b != '[' {
			return false
		}
		m.stack = append(m.stack, frame{n: n, kind: fArray, st: aOpen})
		return true
	case kindString:
		if b != '"' {
			return false
		}
		m.stack = append(m.stack, frame{n: n, kind: fString})
		return true
	case kindNumber, kindInteger:
		ns, ok := numFeed(numState{}, b, n)
		if !ok {
			return false
		}
		c := numCost(ns, n)
		if c < 0 {
			return false
		}
		m.stack = append(m.stack, frame{n: n, kind: fNumber, num: ns, ncost: int32(c)})
		return true
	case kindEnum:
		var c uint64
		for i, l := range n.lits {
			if l[0] == b {
				c |= 1 << uint(i)
			}
		}
		if c == 0 {
			return false
		}
		m.stack = append(m.stack, frame{n: n, kind: fLit, cand: c, pos: 1})
		m.closeLit(&m.stack[len(m.stack)-1])
		return true
	}
	return false
}

func propMask(n *schemaNode) uint64 {
	if len(n.props) == 64 {
		return ^uint64(0)
	}
	return 1<<uint(len(n.props)) - 1
}

// canAddKey reports whether another property may be written.
func canAddKey(f *frame) bool {
	return f.n.extra != nil || propMask(f.n)&^f.seen != 0
}

func (m *machine) feedObject(f *frame, b byte) bool {
	n := f.n
	switch f.st {
	case oOpen, oComma:
		if isWS(b) {
			return m.space(f)
		}
		if b == '"' && canAddKey(f) {
			f.ws = 0
			f.st = oKey
			f.all = propMask(n)
			f.cand = f.all &^ f.seen
			f.extraOK = n.extra != nil
			f.pos = 0
			return true
		}
		if b == '}' && f.st == oOpen && n.required&^f.seen == 0 {
			m.pop()
			return true
		}
		return false
	case oKey:
		if b == '"' {
			for x := f.all; x != 0; x &= x - 1 {
				i := bits.TrailingZeros64(x)
				if len(n.props[i].key) == int(f.pos) {
					if f.cand&(1<<uint(i)) == 0 {
						return false // a repeated property
					}
					f.cur = int32(i)
					f.seen |= 1 << uint(i)
					f.st = oColon
					return true
				}
			}
			if f.extraOK && f.pos > 0 {
				f.cur = -1
				f.st = oColon
				return true
			}
			return false
		}
		var all uint64
		for x := f.all; x != 0; x &= x - 1 {
			i := bits.TrailingZeros64(x)
			if k := n.props[i].key; int(f.pos) < len(k) && k[f.pos] == b {
				all |= 1 << uint(i)
			}
		}
		cand := all & f.cand
		extra := f.extraOK && isExtraKeyByte(b)
		if cand == 0 && !extra {
			return false
		}
		f.all, f.cand, f.extraOK = all, cand, extra
		f.pos++
		return true
	case oColon:
		if isWS(b) {
			return m.space(f)
		}
		if b != ':' {
			return false
		}
		f.ws = 0
		f.st = oValue
		return true
	case oValue:
		if isWS(b) {
			return m.space(f)
		}
		f.st = oIn
		return m.start(valueNode(f), b)
	case oAfter:
		if isWS(b) {
			return m.space(f)
		}
		if b == ',' && canAddKey(f) {
			f.ws = 0
			f.st = oComma
			return true
		}
		if b == '}' && n.required&^f.seen == 0 {
			m.pop()
			return true
		}
	}
	return false
}

func valueNode(f *frame) *schemaNode {
	if f.cur < 0 {
		return f.n.extra
	}
	return f.n.props[f.cur].schema
}

func (m *machine) feedArray(f *frame, b byte) bool {
	n := f.n
	switch f.st {
	case aOpen, aComma:
		if isWS(b) {
			return m.space(f)
		}
		if b == ']' && f.st == aOpen && n.minItems == 0 {
			m.pop()
			return true
		}
		if n.maxItems >= 0 && int(f.count) >= n.maxItems {
			return false
		}
		f.st = aIn
		f.count++
		return m.start(n.items, b)
	case aAfter:
		if isWS(b) {
			return m.space(f)
		}
		if b == ',' && (n.maxItems < 0 || int(f.count) < n.maxItems) {
			f.ws = 0
			f.st = aComma
			return true
		}
		if b == ']' && int(f.count) >= n.minItems {
			m.pop()
			return true
		}
	}
	return false
}

func isHex(b byte) (uint8, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// runeRoom reports whether another character fits the string's maxLength.
func runeRoom(f *frame) bool {
	return f.n.maxLength < 0 || int(f.count) < f.n.maxLength
}

func (m *machine) feedString(f *frame, b byte) bool {
	if f.utfNeed > 0 {
		if b < f.utfLo || b > f.utfHi {
			return false
		}
		f.utfNeed--
		f.utfLo, f.utfHi = 0x80, 0xBF
		if f.utfNeed == 0 {
			f.count++
		}
		return true
	}
	switch f.esc {
	case 0:
	case 1:
		switch b {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			f.esc = 0
			f.count++
			return true
		case 'u':
			f.esc = 2
			return true
		}
		return false
	default:
		h, ok := isHex(b)
		if !ok {
			return false
		}
		if f.esc == 2 {
			f.hex1 = h
		} else if f.esc == 3 && f.hex1 == 0xD && h >= 8 {
			return false // no surrogates
		}
		f.esc++
		if f.esc == 6 {
			f.esc = 0
			f.count++
		}
		return true
	}
	switch {
	case b == '"':
		m.pop()
		return true
	case b < 0x20:
		return false
	case !runeRoom(f):
		return false
	case b == '\\':
		f.esc = 1
		return true
	case b < 0x80:
		f.count++
		return true
	case b >= 0xC2 && b <= 0xDF:
		f.utfNeed, f.utfLo, f.utfHi = 1, 0x80, 0xBF
	case b == 0xE0:
		f.utfNeed, f.utfLo, f.utfHi = 2, 0xA0, 0xBF
	case b >= 0xE1 && b <= 0xEC || b == 0xEE || b == 0xEF:
		f.utfNeed, f.utfLo, f.utfHi = 2, 0x80, 0xBF
	case b == 0xED:
		f.utfNeed, f.utfLo, f.utfHi = 2, 0x80, 0x9F
	case b == 0xF0:
		f.utfNeed, f.utfLo, f.utfHi = 3, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		f.utfNeed, f.utfLo, f.utfHi = 3, 0x80, 0xBF
	case b == 0xF4:
		f.utfNeed, f.utfLo, f.utfHi = 3, 0x80, 0x8F
	default:
		return false
	}
	return true
}

// remaining returns the length of a shortest completion of the document
// (an estimate that follows one canonical completion, used to keep the
// document finishable within the token budget).
func (m *machine) remaining() int {
	total := 0
	for i := range m.stack {
		total += frameCost(&m.stack[i])
	}
	return total
}

// requiredCost is the cost of writing the required properties in r, each
// with its separating comma.
func requiredCost(n *schemaNode, r uint64) (int, int) {
	c, k := 0, 0
	for x := r; x != 0; x &= x - 1 {
		p := &n.props[bits.TrailingZeros64(x)]
		c += len(p.key) + 3 + p.schema.minLen
		k++
	}
	return c, k
}

func frameCost(f *frame) int {
	n := f.n
	switch f.kind {
	case fRoot:
		if f.st == rStart {
			return n.minLen
		}
		return 0
	case fObject:
		r := n.required &^ f.seen
		rc, k := requiredCost(n, r)
		switch f.st {
		case oOpen:
			if k == 0 {
				return 1
			}
			return rc + k - 1 + 1
		case oComma:
			if k == 0 {
				best := -1
				for x := propMask(n) &^ f.seen; x != 0; x &= x - 1 {
					p := &n.props[bits.TrailingZeros64(x)]
					if c := len(p.key) + 3 + p.schema.minLen; best < 0 || c < best {
						best = c
					}
				}
				if n.extra != nil && (best < 0 || 4+n.extra.minLen < best) {
					best = 4 + n.extra.minLen
				}
				return max(best, 0) + 1
			}
			return rc + k - 1 + 1
		case oKey:
			best := -1
			for x := f.cand; x != 0; x &= x - 1 {
				i := bits.TrailingZeros64(x)
				p := &n.props[i]
				c := len(p.key) - int(f.pos) + 2 + p.schema.minLen
				rc2, k2 := requiredCost(n, r&^(1<<uint(i)))
				c += rc2 + k2 + 1
				if best < 0 || c < best {
					best = c
				}
			}
			if f.extraOK {
				c := 2 + n.extra.minLen + rc + k + 1
				if f.pos == 0 {
					c++
				}
				if best < 0 || c < best {
					best = c
				}
			}
			return max(best, 0)
		case oColon:
			return 1 + valueNode(f).minLen + rc + k + 1
		case oValue:
			return valueNode(f).minLen + rc + k + 1
		default: // oIn, oAfter
			return rc + k + 1
		}
	case fArray:
		r := max(0, n.minItems-int(f.count))
		switch f.st {
		case aOpen:
			if r == 0 {
				return 1
			}
			return r*n.items.minLen + r - 1 + 1
		case aComma:
			r = max(r, 1)
			return r*n.items.minLen + r - 1 + 1
		default:
			return r*(n.items.minLen+1) + 1
		}
	case fString:
		c := 1
		switch {
		case f.utfNeed > 0:
			c += int(f.utfNeed)
		case f.esc == 1:
			c++
		case f.esc >= 2:
			c += 6 - int(f.esc)
		}
		return c
	case fNumber:
		return int(f.ncost)
	case fLit:
		best := -1
		for x := f.cand; x != 0; x &= x - 1 {
			if c := len(n.lits[bits.TrailingZeros64(x)]) - int(f.pos); best < 0 || c < best {
				best = c
			}
		}
		return max(best, 0)
	}
	return 0
}
