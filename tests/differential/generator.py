"""A seeded generator of DynamoDB request sequences, valid and invalid.

The generator keeps a model of which tables exist (following the reference server's answers,
DynamoDB Local's, so all three servers receive exactly the same sequence) and draws keys from
small pools so that reads, conditions and queries mostly hit items that exist.

A step is a dict: {"op", "body", "service"?, "table"?, "keys": [(table, key)] written,
"kind": "plain" | "scan-all" | "query-all" | "stream-read", "index_keys"?: the key attributes
of the secondary index a Query reads}. Strings "@@ARN:<table>@@" and "@@STREAM:<table>@@" in a
body are replaced per server by that server's ARN for the table.

Secondary indexes and TTL: the model of each table (its GSIs/LSIs, attribute types, billing
mode) is learned from DynamoDB Local's DescribeTable after every table operation (`learn`), and
the TTL attribute from its UpdateTimeToLive answers; index keys are drawn from small pools so
that many items share an index key.
"""
import base64
import random
import string

RESERVED_SAMPLE = ["status", "name", "size", "data", "count", "date", "key", "value", "year", "user"]

TABLE_NAMES = ["tab_a", "tab_b", "tab_c", "Tab-D.v1", "tab_e", "tab_f", "t" * 255]
BAD_TABLE_NAMES = ["ab", "", "bad name", "tab$", "x" * 256, "tab/a"]

# Key schemas: (hash (name, type), range (name, type) or None)
SCHEMAS = [
    (("pk", "S"), None),
    (("id", "N"), None),
    (("bk", "B"), None),
    (("pk", "S"), ("sk", "S")),
    (("pk", "S"), ("n", "N")),
    (("id", "N"), ("b", "B")),
    (("pk", "S"), ("sk", "B")),
]

S_HASH = ["h0", "h1", "h2", "h3", "é€", "h10"]
S_RANGE = ["a", "b", "c", "aa", "ab", "b1", "B", "z" * 30]
N_HASH = ["0", "1", "2", "-1", "10", "1.5", "100", "1e2", "-0.5"]
N_RANGE = ["1", "2", "3", "10", "-5", "0.5", "1E1", "99999999999999999999", "-1e-5"]
B_VALS = [base64.b64encode(x).decode() for x in (b"\x00", b"\x01", b"\x01\x02", b"\xff", b"a", b"ab", b"\x00\x00")]

GOOD_NUMBERS = ["0", "1", "-1", "42", "3.14", "1.50", "-0", "0.000", "1e3", "1E-3", "+7",
                "12345678901234567890123456789012345678", "1234567890.1234567890123456789012345678",
                "9.9999999999999999999999999999999999999E+125", "1E-130", "-1E-130", "007", ".5", "5.",
                "100", "2", "10", "0.1", "-3.5"]
BAD_NUMBERS = ["abc", "", " 1", "1 ", "0x10", "1e126", "1E-131", "123456789012345678901234567890123456789",
               "1.2.3", "--1", "Infinity", "NaN", "1e", "e5"]


def b64(b):
    return base64.b64encode(b).decode()


# Secondary indexes: the attributes index keys are drawn from, with their type, and small value
# pools (so that many items share an index key: the order among them is not defined).
INDEX_ATTRS = {"gk": "S", "gn": "N", "gb": "B", "s": "S", "n": "N"}
INDEX_VALUES = {
    "gk": [{"S": v} for v in ("g0", "g1", "g2", "g3")],
    "gn": [{"N": v} for v in ("1", "2", "3", "10", "-1")],
    "gb": [{"B": v} for v in B_VALS[:3]],
    "s": [{"S": v} for v in ("a", "ab", "abc", "b", "hello", "z")],
    "n": [{"N": v} for v in ("0", "1", "5", "10", "-2", "3.5", "100")],
}
# Attributes only ever written with their index type (except by the deliberate index mutations,
# which DynamoDB rejects while an index covers them): GSIs created on existing tables are keyed
# on these or on the table's keys, so a backfill never meets a value of the wrong type (see
# DIFFERENCES.md, D27).
ONLY_INDEX_ATTRS = ("gk", "gn", "gb")
INDEX_NAMES = ["gsi_a", "gsi_b", "by-gk", "idx.n", "lsi_a", "lsi_b", "I" * 255]
BAD_INDEX_NAMES = ["ix", "", "bad name", "idx$", "x" * 256, "idx/a"]
NON_KEY_ATTRS = ["a", "s", "m", "flag", "n", "l", "status", "ttl"]
TTL_ATTRS = ["ttl", "expires", "n"]
# TTL values nobody may delete during a run: far in the future, more than five years in the past
# ("items with an expiration time of more than five years in the past are not deleted"), or not a
# number at all. Recently expired values are left out: when they are deleted is unspecified.
TTL_VALUES = [{"N": "4102444800"}, {"N": "4102444800.5"}, {"N": "0"}, {"N": "1000000000"}, {"N": "-5"},
              {"S": "4102444800"}, {"NS": ["4102444800"]}, {"N": "99999999999999"}]


class Index:
    def __init__(self, name, hash_, range_, projection, non_key=None, kind="GSI"):
        self.name, self.hash, self.range, self.kind = name, hash_, range_, kind
        self.projection = projection  # ALL | KEYS_ONLY | INCLUDE
        self.non_key = list(non_key or [])

    def key_attrs(self):
        return [self.hash[0]] + ([self.range[0]] if self.range else [])


class Table:
    def __init__(self, name, schema, stream=None):
        self.name = name
        self.hash, self.range = schema
        self.stream = stream  # StreamViewType or None
        self.gsis, self.lsis = {}, {}  # name -> Index (as DynamoDB Local describes them)
        self.attr_types = {schema[0][0]: schema[0][1]}
        if schema[1]:
            self.attr_types[schema[1][0]] = schema[1][1]
        self.billing = "PAY_PER_REQUEST"
        self.ttl = None  # attribute name while TTL is enabled (as DynamoDB Local answered)

    def key_attrs(self):
        return [self.hash[0]] + ([self.range[0]] if self.range else [])

    def indexes(self):
        return [self.gsis[n] for n in sorted(self.gsis)] + [self.lsis[n] for n in sorted(self.lsis)]

    def index_key_attrs(self):
        return sorted({a for ix in self.indexes() for a in ix.key_attrs()} - set(self.key_attrs()))

    def learn(self, desc):
        """Indexes, attribute types and billing mode from a DescribeTable answer."""
        def ks(x):
            h = r = None
            for e in x.get("KeySchema") or []:
                pair = (e.get("AttributeName"), self.attr_types.get(e.get("AttributeName"), "S"))
                if e.get("KeyType") == "HASH":
                    h = pair
                else:
                    r = pair
            return h, r
        self.attr_types.update({d["AttributeName"]: d["AttributeType"] for d in desc.get("AttributeDefinitions") or []
                                if "AttributeName" in d and "AttributeType" in d})
        self.billing = (desc.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        for kind, attr, into in (("GSI", "GlobalSecondaryIndexes", self.gsis), ("LSI", "LocalSecondaryIndexes", self.lsis)):
            into.clear()
            for x in desc.get(attr) or []:
                if x.get("IndexStatus", "ACTIVE") != "ACTIVE":
                    continue
                h, r = ks(x)
                p = x.get("Projection") or {}
                into[x["IndexName"]] = Index(x["IndexName"], h, r, p.get("ProjectionType", "ALL"),
                                             p.get("NonKeyAttributes"), kind)


class Gen:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.tables = {}  # name -> Table (following the reference server)
        self.pending = None

    # ---- small helpers ---------------------------------------------------------------------
    def p(self, prob):
        return self.r.random() < prob

    def pick(self, seq):
        return self.r.choice(list(seq))

    def key_value(self, t, pool_kind):
        if t == "S":
            return {"S": self.pick(S_HASH if pool_kind == "h" else S_RANGE)}
        if t == "N":
            return {"N": self.pick(N_HASH if pool_kind == "h" else N_RANGE)}
        return {"B": self.pick(B_VALS)}

    def key(self, tab, bad=False):
        k = {tab.hash[0]: self.key_value(tab.hash[1], "h")}
        if tab.range:
            k[tab.range[0]] = self.key_value(tab.range[1], "r")
        if bad:
            m = self.r.randrange(7)
            if m == 0:  # wrong type for the hash key
                k[tab.hash[0]] = {"N": "1"} if tab.hash[1] != "N" else {"S": "1"}
            elif m == 1 and tab.range:  # missing range key
                del k[tab.range[0]]
            elif m == 2:  # missing hash key
                del k[tab.hash[0]]
            elif m == 3:  # extra, non-key attribute
                k["extra"] = {"S": "x"}
            elif m == 4:  # empty string / binary key
                k[tab.hash[0]] = {"S": ""} if tab.hash[1] == "S" else ({"B": ""} if tab.hash[1] == "B" else {"N": "abc"})
            elif m == 5 and not tab.range:
                k["sk"] = {"S": "a"}
            else:
                k[tab.hash[0]] = {"SS": ["a"]}
        return k

    def table(self, allow_missing=0.05):
        if not self.tables or self.p(allow_missing):
            return Table(self.pick(["missing_table", "tab_zz"]), SCHEMAS[0])
        return self.tables[self.pick(sorted(self.tables))]

    # ---- attribute values --------------------------------------------------------------------
    def number(self, bad=False):
        return self.pick(BAD_NUMBERS if bad else GOOD_NUMBERS)

    def string(self):
        return self.pick(["", "a", "b", "abc", "ab", "hello world", "Ünïcödé", "𝄞", "a" * 40,
                          "0", "true", "x.y", "#n", ":v"])

    def value(self, depth=0, bad=False):
        kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["L", "M"] if depth < 3 else [])
        t = self.pick(kinds)
        if bad and self.p(0.5):
            return self.bad_value()
        if t == "S":
            return {"S": self.string()}
        if t == "N":
            return {"N": self.number()}
        if t == "B":
            return {"B": self.pick(B_VALS + [""])}
        if t == "BOOL":
            return {"BOOL": self.p(0.5)}
        if t == "NULL":
            return {"NULL": True}
        if t == "SS":
            return {"SS": self.r.sample(["a", "b", "c", "d", "ab", "x"], self.r.randint(1, 4))}
        if t == "NS":
            return {"NS": self.r.sample(["1", "2", "3", "10", "-1", "0.5", "100"], self.r.randint(1, 4))}
        if t == "BS":
            return {"BS": self.r.sample(B_VALS[:5], self.r.randint(1, 3))}
        if t == "L":
            return {"L": [self.value(depth + 1) for _ in range(self.r.randint(0, 4))]}
        return {"M": {self.pick(["x", "y", "z", "q", "n", "s", "deep"]): self.value(depth + 1)
                      for _ in range(self.r.randint(0, 4))}}

    def bad_value(self):
        return self.pick([
            {"SS": []}, {"NS": []}, {"BS": []},
            {"SS": ["a", "a"]}, {"NS": ["1", "1.0"]}, {"BS": [B_VALS[0], B_VALS[0]]},
            {"N": self.number(bad=True)}, {"NS": ["1", self.number(bad=True)]},
            {"S": "a", "N": "1"}, {}, {"NULL": False}, {"B": "!!notbase64"},
            {"BOOL": "true"}, {"S": 5}, {"L": [{"SS": []}]}, {"M": {"x": {"NS": []}}},
            {"SS": [""]}, {"XX": "a"},
        ])

    def typed(self, attr, depth=0):
        """A value whose type is conventional for well-known attribute names."""
        if attr in ("n", "count"):
            return {"N": self.pick(["0", "1", "5", "10", "-2", "3.5", "100"])}
        if attr in ("s", "status", "x.y"):
            return {"S": self.pick(["a", "ab", "abc", "b", "hello", "", "z"])}
        if attr == "l":
            return {"L": [self.typed(self.pick(["n", "s"])) for _ in range(self.r.randint(0, 4))]}
        if attr == "m":
            m = {"x": self.typed("n"), "y": self.typed("s")}
            if self.p(0.5):
                m["z"] = self.typed("l")
            if self.p(0.3):
                m["q"] = {"M": {"r": self.typed("n")}}
            return {"M": m}
        if attr == "ss":
            return {"SS": self.r.sample(["a", "b", "c", "d"], self.r.randint(1, 3))}
        if attr == "ns":
            return {"NS": self.r.sample(["1", "2", "3", "10", "-1"], self.r.randint(1, 3))}
        if attr == "bs":
            return {"BS": self.r.sample(B_VALS[:5], self.r.randint(1, 3))}
        if attr == "flag":
            return {"BOOL": self.p(0.5)}
        if attr == "nul":
            return {"NULL": True}
        if attr == "bin":
            return {"B": self.pick(B_VALS)}
        if attr in ("gk", "gn", "gb"):
            return dict(self.pick(INDEX_VALUES[attr]))
        if attr == "ttl":
            return dict(self.pick(TTL_VALUES))
        return self.value(depth)

    ATTRS = ["n", "s", "l", "m", "ss", "ns", "bs", "flag", "nul", "bin", "a", "status", "x.y", "gk", "gn", "gb", "ttl"]

    def bad_index_value(self, attr, typ):
        """A value an index key attribute cannot take: another type, an empty string or binary."""
        return self.pick([
            {"S": ""} if typ == "S" else {"B": ""} if typ == "B" else {"S": "1"},
            {"N": "1"} if typ != "N" else {"S": "1"},
            {"B": B_VALS[0]} if typ != "B" else {"S": "b"},
            {"SS": ["a"]}, {"BOOL": True}, {"NULL": True},
        ])

    def index_write_mutation(self, tab, item):
        """Sets one index key attribute of `item` to a value the index cannot take."""
        attrs = tab.index_key_attrs()
        if attrs:
            a = self.pick(attrs)
            item[a] = self.bad_index_value(a, tab.attr_types.get(a, INDEX_ATTRS.get(a, "S")))
        return item

    def item(self, tab, bad=False):
        it = self.key(tab)
        for a in self.r.sample(self.ATTRS, self.r.randint(0, 6)):
            it[a] = self.typed(a)
        for a in tab.index_key_attrs():
            # index key attributes: mostly present, from small pools
            if self.p(0.75):
                it[a] = dict(self.pick(INDEX_VALUES[a])) if a in INDEX_VALUES else self.key_value(tab.attr_types.get(a, "S"), "r")
        if tab.ttl and self.p(0.3):
            it[tab.ttl] = dict(self.pick(TTL_VALUES))
        if bad:
            m = self.r.randrange(5)
            if m == 0:
                it[self.pick([a for a in self.ATTRS if a not in ONLY_INDEX_ATTRS])] = self.bad_value()
            elif m == 1:
                it = self.key(tab, bad=True) | {k: v for k, v in it.items() if k not in tab.key_attrs()}
            elif m == 2:
                it["big"] = {"S": "x" * (400 * 1024 + 10)}
            elif m == 3:
                it[""] = {"S": "empty name"}
            else:
                it["big"] = {"B": b64(b"y" * (300 * 1024))}
                it["big2"] = {"S": "z" * (110 * 1024)}
        elif self.p(0.03):
            it["med"] = {"S": "m" * self.r.randint(1000, 20000)}
        return it

    # ---- expressions ---------------------------------------------------------------------------
    class Ex:
        def __init__(self, g):
            self.g, self.names, self.values = g, {}, {}

        def name(self, attr):
            if attr not in ("x.y", "status") and attr.isidentifier() and self.g.p(0.5):
                return attr
            for k, v in self.names.items():
                if v == attr:
                    return k
            k = "#" + ("n%d" % len(self.names))
            self.names[k] = attr
            return k

        def val(self, v):
            k = ":v%d" % len(self.values)
            self.values[k] = v
            return k

        def path(self, tab=None, key_ok=False):
            g = self.g
            r = g.r.random()
            if key_ok and tab is not None and r < 0.08:
                return self.name(g.pick(tab.key_attrs()))
            base = g.pick(g.ATTRS)
            p = self.name(base)
            if base == "m" and g.p(0.6):
                sub = g.pick(["x", "y", "z", "q", "new"])
                p += "." + self.name(sub)
                if sub == "z" and g.p(0.5):
                    p += "[%d]" % g.pick([0, 1, 5])
                if sub == "q" and g.p(0.5):
                    p += "." + self.name("r")
            elif base == "l" and g.p(0.6):
                p += "[%d]" % g.pick([0, 1, 2, 10])
            return p

        def attach(self, body, names=True, values=True):
            if self.names and names:
                body["ExpressionAttributeNames"] = dict(self.names)
            if self.values and values:
                body["ExpressionAttributeValues"] = dict(self.values)
            return body

    def condition(self, ex, tab=None, depth=0):
        """A condition expression string, mostly valid."""
        g = self
        r = g.r.randrange(14)
        path = lambda: ex.path(tab, key_ok=True)
        if r == 0:
            c = "attribute_exists(%s)" % path()
        elif r == 1:
            c = "attribute_not_exists(%s)" % path()
        elif r == 2:
            c = "attribute_type(%s, %s)" % (path(), ex.val({"S": g.pick(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"])}))
        elif r == 3:
            c = "begins_with(%s, %s)" % (path(), ex.val({"S": g.pick(["a", "h", "ab", ""])}))
        elif r == 4:
            c = "contains(%s, %s)" % (path(), ex.val(g.pick([{"S": "a"}, {"N": "1"}, {"S": "b"}, {"N": "10"}])))
        elif r == 5:
            c = "size(%s) %s %s" % (path(), g.pick(["=", "<", ">", ">=", "<>"]), ex.val({"N": g.pick(["0", "1", "2", "3"])}))
        elif r == 6:
            c = "%s IN (%s)" % (path(), ", ".join(ex.val(g.typed(g.pick(["n", "s"]))) for _ in range(g.r.randint(1, 3))))
        elif r == 7:
            lo, hi = sorted([g.pick(["0", "1", "5", "10"]), g.pick(["1", "5", "100"])], key=float)
            c = "%s BETWEEN %s AND %s" % (path(), ex.val({"N": lo}), ex.val({"N": hi}))
        elif r in (8, 9):
            p = path()
            c = "%s %s %s" % (p, g.pick(["=", "<>", "<", "<=", ">", ">="]), ex.val(g.typed(g.pick(["n", "s", "a"]))))
        elif r == 10 and depth < 2:
            c = "%s AND %s" % (self.condition(ex, tab, depth + 1), self.condition(ex, tab, depth + 1))
        elif r == 11 and depth < 2:
            c = "(%s OR %s)" % (self.condition(ex, tab, depth + 1), self.condition(ex, tab, depth + 1))
        elif r == 12 and depth < 2:
            c = "NOT %s" % self.condition(ex, tab, depth + 1)
        else:
            c = "%s = %s" % (path(), path())
        return c

    def bad_condition(self, ex, tab):
        return self.pick([
            "attribute_exists(%s" % ex.path(tab),
            "%s = " % ex.path(tab),
            "%s == %s" % (ex.path(tab), ex.val({"N": "1"})),
            "%s = :undefined" % ex.path(tab),
            "#undefined = %s" % ex.val({"N": "1"}),
            "status = %s" % ex.val({"S": "a"}),
            "size = %s" % ex.val({"S": "a"}),
            "attribute_type(%s, %s)" % (ex.path(tab), ex.val({"S": "XX"})),
            "unknown_fn(%s)" % ex.path(tab),
            "%s BETWEEN %s AND %s" % (ex.path(tab), ex.val({"N": "10"}), ex.val({"N": "1"})),
            "begins_with(%s, %s)" % (ex.path(tab), ex.val({"N": "1"})),
            "size(%s)" % ex.path(tab),
            "%s IN ()" % ex.path(tab),
            "",
            "%s = %s AND" % (ex.path(tab), ex.val({"N": "1"})),
            "attribute_exists(%s) AND attribute_exists(%s) OR" % (ex.path(tab), ex.path(tab)),
            "%s < %s" % (ex.val({"N": "1"}), ex.val({"N": "2"})),
            "contains(%s, %s)" % (ex.path(tab), ex.val({"SS": ["a"]})),
        ])

    def update_expression(self, ex, tab, bad=False):
        g = self
        sections = []
        used = set()

        def fresh_path():
            for _ in range(10):
                before = dict(ex.names)
                p = ex.path(tab)
                root = p.split(".")[0].split("[")[0]
                if ex.names.get(root, root) in ONLY_INDEX_ATTRS:
                    ex.names = before  # no placeholder left unused
                    continue
                if root not in used:
                    used.add(root)
                    return p
            return None

        if g.p(0.7):
            acts = []
            for _ in range(g.r.randint(1, 3)):
                p = fresh_path()
                if not p:
                    break
                r = g.r.randrange(8)
                if r <= 2:
                    acts.append("%s = %s" % (p, ex.val(g.typed(ex.names.get(p, p).split(".")[0]) if g.p(0.6) else g.value())))
                elif r == 3:
                    acts.append("%s = if_not_exists(%s, %s)" % (p, p, ex.val(g.typed("n"))))
                elif r == 4:
                    lv = ex.val({"L": [g.typed("n")]})
                    acts.append("%s = list_append(%s, %s)" % (p, p, lv) if g.p(0.5) else "%s = list_append(%s, %s)" % (p, lv, p))
                elif r == 5:
                    acts.append("%s = %s %s %s" % (p, p, g.pick(["+", "-"]), ex.val({"N": g.pick(["1", "2.5", "-3", "1e2"])})))
                elif r == 6:
                    acts.append("%s = %s" % (p, ex.path(tab)))
                else:
                    acts.append("%s = %s + %s" % (p, ex.val({"N": "1"}), ex.val({"N": "2"})))
            if acts:
                sections.append("SET " + ", ".join(acts))
        if g.p(0.35):
            ps = [p for p in (fresh_path() for _ in range(g.r.randint(1, 2))) if p]
            if ps:
                sections.append("REMOVE " + ", ".join(ps))
        if g.p(0.3):
            p = fresh_path()
            if p:
                v = g.pick([{"N": "1"}, {"N": "-2.5"}, {"SS": ["a", "e"]}, {"NS": ["1", "7"]}, {"BS": [B_VALS[1]]}])
                sections.append("ADD %s %s" % (p, ex.val(v)))
        if g.p(0.2):
            p = fresh_path()
            if p:
                v = g.pick([{"SS": ["a"]}, {"NS": ["1", "2"]}, {"BS": [B_VALS[0]]}])
                sections.append("DELETE %s %s" % (p, ex.val(v)))
        if not sections:
            sections.append("SET %s = %s" % (ex.path(tab), ex.val(g.typed("s"))))
        g.r.shuffle(sections)
        expr = " ".join(sections)
        if bad:
            m = g.r.randrange(14)
            if m == 0:
                expr = "SET %s = " % ex.path(tab)
            elif m == 1:
                expr += " SET %s = %s" % (ex.path(tab), ex.val({"N": "1"}))
            elif m == 2:
                p = ex.path(tab)
                expr = "SET %s = %s REMOVE %s" % (p, ex.val({"N": "1"}), p)
            elif m == 3:
                expr = "SET %s = %s" % (ex.name(tab.hash[0]), ex.val(g.key_value(tab.hash[1], "h")))
            elif m == 4:
                expr = "ADD %s %s" % (ex.path(tab), ex.val({"S": "a"}))
            elif m == 5:
                expr = "DELETE %s %s" % (ex.path(tab), ex.val({"N": "1"}))
            elif m == 6:
                expr = "SET %s = :nope" % ex.path(tab)
            elif m == 7:
                expr = "SET status = %s" % ex.val({"S": "a"})
            elif m == 8:
                expr = "UPDATE %s = %s" % (ex.path(tab), ex.val({"N": "1"}))
            elif m == 9:
                expr = "SET m.x = %s, m = %s" % (ex.val({"N": "1"}), ex.val({"M": {}}))
            elif m == 10:
                expr = ""
            elif m == 11:
                expr = "SET %s = %s - %s" % (ex.path(tab), ex.val({"S": "a"}), ex.val({"N": "1"}))
            elif m == 12:
                expr = "SET %s = list_append(%s, %s)" % (ex.path(tab), ex.val({"N": "1"}), ex.val({"L": []}))
            else:
                expr = "REMOVE %s[%s]" % (ex.path(tab), "x")
        return expr

    def projection(self, ex, tab):
        return ", ".join(ex.path(tab, key_ok=True) for _ in range(self.r.randint(1, 3)))

    # ---- expression-attribute mutations shared by all expression ops ----------------------
    def mutate_ex(self, body):
        """Unused/undefined names and values, empty maps, bad value types."""
        m = self.r.randrange(6)
        if m == 0:
            body.setdefault("ExpressionAttributeValues", {})[":unused"] = {"S": "u"}
        elif m == 1:
            body.setdefault("ExpressionAttributeNames", {})["#unused"] = "u"
        elif m == 2:
            body["ExpressionAttributeValues"] = {}
        elif m == 3:
            body["ExpressionAttributeNames"] = {}
        elif m == 4:
            body.setdefault("ExpressionAttributeValues", {})[":bad"] = self.bad_value()
        else:
            body.setdefault("ExpressionAttributeNames", {})["nohash"] = "x"
        return body

    # ---- steps ---------------------------------------------------------------------------------
    def step(self):
        ops = [
            ("CreateTable", 5 if len(self.tables) < 4 else 1.5), ("DescribeTable", 2), ("ListTables", 1.5),
            ("UpdateTable", 3), ("DeleteTable", 0.8 if len(self.tables) > 2 else 0.2),
            ("PutItem", 16), ("GetItem", 9), ("UpdateItem", 16), ("DeleteItem", 6),
            ("Query", 10), ("Scan", 5), ("ScanAll", 2), ("BatchGetItem", 4), ("BatchWriteItem", 4),
            ("TransactGetItems", 3), ("TransactWriteItems", 6),
            ("TagResource", 1), ("UntagResource", 0.6), ("ListTagsOfResource", 1),
            ("DescribeTimeToLive", 1), ("UpdateTimeToLive", 1.2), ("DescribeContinuousBackups", 0.6), ("DescribeLimits", 0.3),
            ("ListStreams", 1), ("DescribeStream", 1), ("GetShardIterator", 1), ("GetRecords", 0.7),
            ("StreamRead", 1.5), ("Malformed", 1.5),
        ]
        names, weights = zip(*ops)
        op = self.r.choices(names, weights)[0]
        if not self.tables and op not in ("CreateTable", "ListTables", "DescribeLimits", "Malformed"):
            op = "CreateTable"
        return getattr(self, "gen_" + op)()

    def plain(self, op, body, table=None, keys=(), service="DynamoDB_20120810"):
        return {"op": op, "body": body, "table": table, "keys": list(keys), "kind": "plain",
                "service": service}

    # -- control plane --
    def gen_CreateTable(self):
        g = self
        free = [n for n in TABLE_NAMES if n not in self.tables]
        name = g.pick(free) if free and g.p(0.9) else g.pick(TABLE_NAMES)
        schema = g.pick(SCHEMAS)
        h, rg = schema
        ks = [{"AttributeName": h[0], "KeyType": "HASH"}]
        ad = [{"AttributeName": h[0], "AttributeType": h[1]}]
        if rg:
            ks.append({"AttributeName": rg[0], "KeyType": "RANGE"})
            ad.append({"AttributeName": rg[0], "AttributeType": rg[1]})
        body = {"TableName": name, "KeySchema": ks, "AttributeDefinitions": ad}
        if g.p(0.6):
            body["BillingMode"] = "PAY_PER_REQUEST"
        else:
            if g.p(0.5):
                body["BillingMode"] = "PROVISIONED"
            body["ProvisionedThroughput"] = {"ReadCapacityUnits": g.pick([1, 5, 100]),
                                             "WriteCapacityUnits": g.pick([1, 5, 100])}
        if g.p(0.5):
            body["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": g.pick(
                ["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"])}
        elif g.p(0.1):
            body["StreamSpecification"] = {"StreamEnabled": False}
        if g.p(0.15):
            body["Tags"] = [{"Key": "k%d" % i, "Value": "v"} for i in range(g.r.randint(1, 3))]
        if g.p(0.05):
            body["TableClass"] = g.pick(["STANDARD", "STANDARD_INFREQUENT_ACCESS"])
        if g.p(0.05):
            body["DeletionProtectionEnabled"] = False
        if g.p(0.2):
            m = g.r.randrange(12)
            if m == 0:
                body["TableName"] = g.pick(BAD_TABLE_NAMES)
            elif m == 1:
                body["AttributeDefinitions"] = ad + [{"AttributeName": "unused", "AttributeType": "S"}]
            elif m == 2:
                body["AttributeDefinitions"] = ad[:1] if rg else []
            elif m == 3:
                body["BillingMode"] = "PROVISIONED"
                body.pop("ProvisionedThroughput", None)
            elif m == 4:
                body["BillingMode"] = "PAY_PER_REQUEST"
                body["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
            elif m == 5:
                body["AttributeDefinitions"][0]["AttributeType"] = g.pick(["BOOL", "SS", "X"])
            elif m == 6:
                body["KeySchema"] = [{"AttributeName": h[0], "KeyType": "HASH"}, {"AttributeName": h[0], "KeyType": "RANGE"}]
            elif m == 7:
                body["KeySchema"] = [{"AttributeName": h[0], "KeyType": "RANGE"}]
            elif m == 8:
                body["StreamSpecification"] = {"StreamEnabled": True}
            elif m == 9:
                body["ProvisionedThroughput"] = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 1}
                body["BillingMode"] = "PROVISIONED"
            elif m == 10:
                body["KeySchema"] = []
            else:
                body["StreamSpecification"] = {"StreamEnabled": False, "StreamViewType": "NEW_IMAGE"}
        if g.p(0.45):
            self.add_indexes(body, schema)
        return self.plain("CreateTable", body, table=body["TableName"]) | {"schema": schema}

    # -- secondary indexes in CreateTable / UpdateTable --
    def index_projection(self, exclude=()):
        t = self.pick(["ALL", "ALL", "KEYS_ONLY", "INCLUDE", "INCLUDE"])
        p = {"ProjectionType": t}
        if t == "INCLUDE":
            p["NonKeyAttributes"] = self.r.sample([a for a in NON_KEY_ATTRS if a not in exclude], self.r.randint(1, 3))
        return p

    def throughput(self):
        return {"ReadCapacityUnits": self.pick([1, 2, 5]), "WriteCapacityUnits": self.pick([1, 2, 5])}

    def gsi_spec(self, name, table_keys, provisioned, backfill=False):
        """A valid GSI definition and the attributes (name -> type) its key uses."""
        cands = [(a, t) for a, t in INDEX_ATTRS.items() if not backfill or a in ONLY_INDEX_ATTRS] + list(table_keys)
        cands = list(dict(cands).items())
        h = self.pick(cands)
        ks = [{"AttributeName": h[0], "KeyType": "HASH"}]
        used = {h[0]: h[1]}
        if self.p(0.6):
            r = self.pick([c for c in cands if c[0] != h[0]])
            ks.append({"AttributeName": r[0], "KeyType": "RANGE"})
            used[r[0]] = r[1]
        spec = {"IndexName": name, "KeySchema": ks,
                "Projection": self.index_projection(exclude=list(used) + [k for k, _ in table_keys])}
        if provisioned:
            spec["ProvisionedThroughput"] = self.throughput()
        return spec, used

    def lsi_spec(self, name, schema):
        h, rg = schema
        r = self.pick([c for c in INDEX_ATTRS.items() if c[0] != h[0] and (not rg or c[0] != rg[0])])
        spec = {"IndexName": name,
                "KeySchema": [{"AttributeName": h[0], "KeyType": "HASH"}, {"AttributeName": r[0], "KeyType": "RANGE"}],
                "Projection": self.index_projection(exclude=[h[0], r[0]] + ([rg[0]] if rg else []))}
        return spec, {r[0]: r[1]}

    def add_indexes(self, body, schema):
        """GlobalSecondaryIndexes / LocalSecondaryIndexes for a CreateTable body; mostly valid,
        sometimes one of DynamoDB's index rules broken."""
        g = self
        h, rg = schema
        table_keys = [h] + ([rg] if rg else [])
        provisioned = body.get("BillingMode") != "PAY_PER_REQUEST"
        names = g.r.sample(INDEX_NAMES, 4)
        gsis, lsis, used = [], [], {}
        if g.p(0.75):
            for _ in range(g.r.randint(1, 2)):
                spec, u = self.gsi_spec(names.pop(), table_keys, provisioned)
                gsis.append(spec)
                used.update(u)
        if (rg and g.p(0.5)) or not gsis:
            for _ in range(g.r.randint(1, 2)):
                if not rg and not g.p(0.1):
                    break
                spec, u = self.lsi_spec(names.pop(), schema)
                lsis.append(spec)
                used.update(u)
        if not gsis and not lsis:
            spec, u = self.gsi_spec(names.pop(), table_keys, provisioned)
            gsis.append(spec)
            used.update(u)
        defined = {d["AttributeName"] for d in body["AttributeDefinitions"]}
        for a, t in used.items():
            if a not in defined:
                body["AttributeDefinitions"].append({"AttributeName": a, "AttributeType": t})
                defined.add(a)
        if g.p(0.3):
            m = g.r.randrange(18)
            allx = gsis + lsis
            ad = body["AttributeDefinitions"]
            key_names = {x[0] for x in table_keys}
            if m == 0:  # an index key without an attribute definition
                extra = [d for d in ad if d["AttributeName"] not in key_names]
                if extra:
                    ad.remove(g.pick(extra))
            elif m == 1:  # an attribute definition nothing uses
                ad.append({"AttributeName": "unused_ix", "AttributeType": "S"})
            elif m == 2:  # an LSI on a table without a sort key, or LSIs only
                spec, u = self.lsi_spec(g.pick(["lsi_x", "lsi_y"]), (h, None))
                lsis.append(spec)
                for a, t in u.items():
                    if a not in {d["AttributeName"] for d in ad}:
                        ad.append({"AttributeName": a, "AttributeType": t})
            elif m == 3 and lsis:  # an LSI with another partition key
                x = g.pick(lsis)
                other = g.pick([a for a in INDEX_ATTRS if a != h[0]])
                x["KeySchema"][0]["AttributeName"] = other
                if other not in {d["AttributeName"] for d in ad}:
                    ad.append({"AttributeName": other, "AttributeType": INDEX_ATTRS[other]})
            elif m == 4:  # duplicate index names
                if len(allx) >= 2:
                    allx[-1]["IndexName"] = allx[0]["IndexName"]
                elif gsis:
                    gsis.append(dict(gsis[0]))
                else:
                    lsis.append(dict(lsis[0]))
            elif m == 5:
                g.pick(allx)["IndexName"] = g.pick(BAD_INDEX_NAMES)
            elif m == 6 and gsis:  # throughput rules for GSIs
                x = g.pick(gsis)
                if "ProvisionedThroughput" in x:
                    del x["ProvisionedThroughput"]
                else:
                    x["ProvisionedThroughput"] = self.throughput()
            elif m == 7:
                x = g.pick(allx)
                x["Projection"] = g.pick([{"ProjectionType": "INCLUDE"}, {"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["a"]},
                                          {"ProjectionType": "ALL", "NonKeyAttributes": ["a"]}, {},
                                          {"ProjectionType": "INCLUDE", "NonKeyAttributes": []},
                                          {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "a"]},
                                          {"ProjectionType": "BOGUS"},
                                          {"ProjectionType": "INCLUDE", "NonKeyAttributes": [x["KeySchema"][0]["AttributeName"]]}])
            elif m == 8:
                if gsis:
                    body["GlobalSecondaryIndexes"] = []
                else:
                    body["LocalSecondaryIndexes"] = []
            elif m == 9 and lsis:
                g.pick(lsis)["ProvisionedThroughput"] = self.throughput()
            elif m == 10:  # the same attribute as partition and sort key, or keys in the wrong order
                x = g.pick(allx)
                if len(x["KeySchema"]) == 2:
                    if g.p(0.5):
                        x["KeySchema"][1]["AttributeName"] = x["KeySchema"][0]["AttributeName"]
                    else:
                        x["KeySchema"].reverse()
                else:
                    x["KeySchema"] = [{"AttributeName": x["KeySchema"][0]["AttributeName"], "KeyType": "RANGE"}]
            elif m == 11 and lsis:  # an LSI without a sort key
                g.pick(lsis)["KeySchema"] = [{"AttributeName": h[0], "KeyType": "HASH"}]
            elif m == 12 and lsis and rg:  # an LSI with the table's own key schema
                g.pick(lsis)["KeySchema"][1]["AttributeName"] = rg[0]
            elif m == 13:  # one attribute defined twice with different types
                d = g.pick(ad)
                ad.append({"AttributeName": d["AttributeName"], "AttributeType": "N" if d["AttributeType"] != "N" else "S"})
            elif m == 14:
                del g.pick(allx)["Projection"]
            elif m == 15 and rg:  # more LSIs than allowed (5)
                lsis[:] = [self.lsi_spec("lsi_%d" % i, schema)[0] for i in range(6)]
                for a, t in INDEX_ATTRS.items():
                    if a not in {d["AttributeName"] for d in ad}:
                        ad.append({"AttributeName": a, "AttributeType": t})
            elif m == 16:  # an index key of a type keys cannot have
                d = g.pick([d for d in ad if d["AttributeName"] not in key_names] or ad)
                d["AttributeType"] = g.pick(["BOOL", "SS", "M"])
            elif m == 17:  # an index without a key schema / with an empty name list
                g.pick(allx)["KeySchema"] = []
        if gsis or "GlobalSecondaryIndexes" in body:
            body.setdefault("GlobalSecondaryIndexes", gsis)
        if lsis or "LocalSecondaryIndexes" in body:
            body.setdefault("LocalSecondaryIndexes", lsis)
        return body

    def gsi_update(self, t):
        """An UpdateTable body part: GlobalSecondaryIndexUpdates (+ AttributeDefinitions)."""
        g = self
        body = {}
        provisioned = t.billing == "PROVISIONED"
        table_keys = [t.hash] + ([t.range] if t.range else [])
        r = g.r.randrange(20)
        if r < 8 or not t.gsis and r < 13:  # create
            free = [n for n in INDEX_NAMES if n not in t.gsis and n not in t.lsis]
            name = g.pick(free) if free and not g.p(0.08) else g.pick(sorted(t.gsis) or INDEX_NAMES)
            spec, used = self.gsi_spec(name, table_keys, provisioned, backfill=True)
            ad = [{"AttributeName": a, "AttributeType": t.attr_types.get(a, typ)} for a, typ in used.items()]
            m = g.r.randrange(14) if g.p(0.35) else None
            if m == 0:
                ad = []  # the new key's attribute not defined
            elif m == 1 and any(d["AttributeName"] in t.attr_types for d in ad):
                # a type change of an attribute the table already defines (a new attribute with
                # another type would be a valid index over values of the wrong type: D27)
                ad = [dict(d, AttributeType="N" if d["AttributeType"] != "N" else "S") if d["AttributeName"] in t.attr_types
                      else d for d in ad]
            elif m == 2:
                spec["IndexName"] = g.pick(BAD_INDEX_NAMES)
            elif m == 3:
                if "ProvisionedThroughput" in spec:
                    del spec["ProvisionedThroughput"]
                else:
                    spec["ProvisionedThroughput"] = self.throughput()
            elif m == 4:  # two creates at once
                free2 = [n for n in free if n != name] or ["gsi_z"]
                spec2, used2 = self.gsi_spec(g.pick(free2), table_keys, provisioned, backfill=True)
                ad += [{"AttributeName": a, "AttributeType": t.attr_types.get(a, typ)} for a, typ in used2.items()
                       if a not in used]
                body["GlobalSecondaryIndexUpdates"] = [{"Create": spec}, {"Create": spec2}]
            elif m == 5 and t.gsis:  # a create and a delete at once
                body["GlobalSecondaryIndexUpdates"] = [{"Create": spec}, {"Delete": {"IndexName": g.pick(sorted(t.gsis))}}]
            elif m == 6:
                ad.append({"AttributeName": "unused_ix", "AttributeType": "S"})
            elif m == 7:
                spec["Projection"] = g.pick([{"ProjectionType": "INCLUDE"}, {"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["a"]}, {}])
            elif m == 8:
                ad = None  # no AttributeDefinitions at all
            elif m == 9 and t.lsis:
                spec["IndexName"] = g.pick(sorted(t.lsis))  # the name of an existing LSI
            elif m == 10:
                spec["KeySchema"] = [{"AttributeName": spec["KeySchema"][0]["AttributeName"], "KeyType": "RANGE"}]
            elif m == 11:  # an index keyed on the table's own keys
                spec["KeySchema"] = [{"AttributeName": k[0], "KeyType": kt} for k, kt in zip(table_keys, ("HASH", "RANGE"))]
                ad = [{"AttributeName": k[0], "AttributeType": k[1]} for k in table_keys]
            elif m == 12:
                body["GlobalSecondaryIndexUpdates"] = [{"Create": spec, "Delete": {"IndexName": name}}]
            elif m == 13:
                ad = [{"AttributeName": a, "AttributeType": g.pick(["BOOL", "X"])} for a in used]
            body.setdefault("GlobalSecondaryIndexUpdates", [{"Create": spec}])
            if ad is not None:
                body["AttributeDefinitions"] = ad
        elif r < 12:  # delete
            name = g.pick(sorted(t.gsis)) if t.gsis and not g.p(0.15) else g.pick(["no_such_index"] + sorted(t.lsis))
            body["GlobalSecondaryIndexUpdates"] = [{"Delete": {"IndexName": name}}]
            if t.gsis and g.p(0.1):
                body["GlobalSecondaryIndexUpdates"] = [{"Delete": {"IndexName": n}} for n in sorted(t.gsis)] + \
                    [{"Delete": {"IndexName": "no_such_index"}}]
        elif r < 16:  # update (throughput)
            name = g.pick(sorted(t.gsis)) if t.gsis and not g.p(0.15) else "no_such_index"
            upd = {"IndexName": name, "ProvisionedThroughput": self.throughput()}
            if g.p(0.1):
                upd["ProvisionedThroughput"] = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 1}
            body["GlobalSecondaryIndexUpdates"] = [{"Update": upd}]
        elif r < 18 and t.gsis:  # a switch of billing mode, with or without the indexes' throughput
            if provisioned:
                body["BillingMode"] = "PAY_PER_REQUEST"
                if g.p(0.2):
                    body["GlobalSecondaryIndexUpdates"] = [{"Update": {"IndexName": n, "ProvisionedThroughput": self.throughput()}}
                                                           for n in sorted(t.gsis)]
            else:
                body["BillingMode"] = "PROVISIONED"
                body["ProvisionedThroughput"] = self.throughput()
                names = sorted(t.gsis)
                if g.p(0.7):
                    if g.p(0.2):
                        names = names[:-1]
                    body["GlobalSecondaryIndexUpdates"] = [{"Update": {"IndexName": n, "ProvisionedThroughput": self.throughput()}}
                                                           for n in names]
        else:
            body["GlobalSecondaryIndexUpdates"] = g.pick([[], [{}], [{"Create": None}],
                                                          [{"Update": {"IndexName": "no_such_index"}}]])
        return body

    def gen_DescribeTable(self):
        if self.p(0.15):
            return self.plain("DescribeTable", {"TableName": self.pick(["missing_table"] + BAD_TABLE_NAMES)})
        t = self.table()
        return self.plain("DescribeTable", {"TableName": t.name}, table=t.name)

    def gen_ListTables(self):
        body = {}
        if self.p(0.6):
            body["Limit"] = self.pick([1, 2, 3, 100] + ([0, 101] if self.p(0.2) else []))
        if self.p(0.4):
            body["ExclusiveStartTableName"] = self.pick(TABLE_NAMES + ["a", "tab_b0", "zzz"] + (["x"] if self.p(0.2) else []))
        return self.plain("ListTables", body)

    def gen_UpdateTable(self):
        g = self
        t = self.table()
        body = {"TableName": t.name}
        r = g.r.randrange(8)
        if r == 0:
            body["BillingMode"] = "PAY_PER_REQUEST"
        elif r == 1:
            body["BillingMode"] = "PROVISIONED"
            body["ProvisionedThroughput"] = {"ReadCapacityUnits": g.pick([2, 5]), "WriteCapacityUnits": g.pick([2, 5])}
        elif r == 2:
            body["ProvisionedThroughput"] = {"ReadCapacityUnits": g.pick([3, 7]), "WriteCapacityUnits": g.pick([3, 7])}
        elif r in (3, 4):
            body["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": g.pick(
                ["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"])}
        elif r == 5:
            body["StreamSpecification"] = {"StreamEnabled": False}
        elif r == 6:
            pass  # nothing to update
        else:
            body["BillingMode"] = "PROVISIONED"  # without throughput
        if g.p(0.45):
            body = {"TableName": t.name}
            body.update(self.gsi_update(t))
        if g.p(0.05):
            body["TableName"] = "missing_table"
        return self.plain("UpdateTable", body, table=t.name)

    def gen_DeleteTable(self):
        if self.p(0.15):
            return self.plain("DeleteTable", {"TableName": self.pick(["missing_table", "ab"])})
        t = self.table(0)
        return self.plain("DeleteTable", {"TableName": t.name}, table=t.name)

    def gen_TagResource(self):
        t = self.table()
        arn = "@@ARN:%s@@" % t.name
        tags = [{"Key": self.pick(["env", "team", "k1", "aws:x", ""]), "Value": self.pick(["prod", "", "v"])}
                for _ in range(self.r.randint(0 if self.p(0.1) else 1, 3))]
        body = {"ResourceArn": arn, "Tags": tags}
        if self.p(0.08):
            body["ResourceArn"] = self.pick(["not-an-arn", "arn:aws:dynamodb:us-east-1:000000000000:table/missing_table"])
        return self.plain("TagResource", body, table=t.name)

    def gen_UntagResource(self):
        t = self.table()
        body = {"ResourceArn": "@@ARN:%s@@" % t.name,
                "TagKeys": self.r.sample(["env", "team", "k1", "nope"], self.r.randint(0 if self.p(0.1) else 1, 3))}
        return self.plain("UntagResource", body, table=t.name)

    def gen_ListTagsOfResource(self):
        t = self.table()
        body = {"ResourceArn": "@@ARN:%s@@" % t.name}
        if self.p(0.08):
            body = {}
        return self.plain("ListTagsOfResource", body, table=t.name)

    def gen_DescribeTimeToLive(self):
        t = self.table(0.2)
        return self.plain("DescribeTimeToLive", {"TableName": t.name}, table=t.name)

    def gen_UpdateTimeToLive(self):
        g = self
        t = self.table(0.05)
        if t.ttl:
            r = g.r.randrange(5)
            if r <= 1:
                spec = {"Enabled": False, "AttributeName": t.ttl}  # disable
            elif r == 2:
                spec = {"Enabled": False, "AttributeName": g.pick([a for a in TTL_ATTRS if a != t.ttl])}
            elif r == 3:
                spec = {"Enabled": True, "AttributeName": t.ttl}  # enable twice
            else:
                spec = {"Enabled": True, "AttributeName": g.pick([a for a in TTL_ATTRS if a != t.ttl])}
        else:
            spec = {"Enabled": not g.p(0.15), "AttributeName": g.pick(TTL_ATTRS)}
        body = {"TableName": t.name, "TimeToLiveSpecification": spec}
        if g.p(0.1):
            m = g.r.randrange(6)
            if m == 0:
                spec["AttributeName"] = ""
            elif m == 1:
                del spec["Enabled"]
            elif m == 2:
                del spec["AttributeName"]
            elif m == 3:
                del body["TimeToLiveSpecification"]
            elif m == 4:
                spec["AttributeName"] = "t" * 256
            else:
                spec["AttributeName"] = g.pick(t.key_attrs() + t.index_key_attrs())
        return self.plain("UpdateTimeToLive", body, table=t.name)

    def gen_DescribeContinuousBackups(self):
        t = self.table(0.2)
        return self.plain("DescribeContinuousBackups", {"TableName": t.name}, table=t.name)

    def gen_DescribeLimits(self):
        return self.plain("DescribeLimits", {})

    # -- items --
    def rv(self, allowed, bad_prob=0.05):
        if self.p(bad_prob):
            return self.pick(["ALL_NEW", "UPDATED_OLD", "BOGUS", "all_old"])
        return self.pick(allowed)

    def common_write_opts(self, body, allowed_rv, tab=None):
        if self.p(0.5):
            body["ReturnValues"] = self.rv(allowed_rv)
        if self.p(0.2):
            body["ReturnValuesOnConditionCheckFailure"] = self.pick(["ALL_OLD", "NONE"] + (["BAD"] if self.p(0.1) else []))
        if self.p(0.1):
            body["ReturnConsumedCapacity"] = self.pick(["TOTAL", "INDEXES", "NONE"])
        if self.p(0.3 if tab is not None and tab.lsis else 0.05):
            body["ReturnItemCollectionMetrics"] = self.pick(["SIZE", "SIZE", "NONE"] + (["BOGUS"] if self.p(0.05) else []))

    def add_condition(self, body, tab, legacy_ok=True):
        ex = self.Ex(self)
        if self.p(0.45):
            body["ConditionExpression"] = self.condition(ex, tab) if not self.p(0.12) else self.bad_condition(ex, tab)
        elif legacy_ok and self.p(0.12):
            body["Expected"] = self.expected(tab)
            if self.p(0.3):
                body["ConditionalOperator"] = self.pick(["AND", "OR"])
        return ex

    def expected(self, tab):
        out = {}
        for a in self.r.sample(self.ATTRS[:10] + tab.key_attrs(), self.r.randint(1, 2)):
            r = self.r.randrange(5)
            if r == 0:
                out[a] = {"Exists": False}
            elif r == 1:
                out[a] = {"Value": self.typed(a)}
            elif r == 2:
                out[a] = {"Exists": True, "Value": self.typed(a)}
            elif r == 3:
                op = self.pick(["EQ", "NE", "LT", "GE", "NULL", "NOT_NULL", "CONTAINS", "BEGINS_WITH", "IN", "BETWEEN"])
                if op in ("NULL", "NOT_NULL"):
                    out[a] = {"ComparisonOperator": op}
                elif op == "BETWEEN":
                    out[a] = {"ComparisonOperator": op, "AttributeValueList": [{"N": "0"}, {"N": "10"}]}
                elif op == "IN":
                    out[a] = {"ComparisonOperator": op, "AttributeValueList": [self.typed(a), self.typed(a)]}
                else:
                    out[a] = {"ComparisonOperator": op, "AttributeValueList": [self.typed(self.pick(["s", "n"]))]}
            else:
                out[a] = {"Exists": False, "Value": {"S": "x"}}  # invalid combination
        return out

    def gen_PutItem(self):
        t = self.table()
        bad = self.p(0.12)
        item = self.item(t, bad=bad)
        body = {"TableName": t.name, "Item": item}
        self.common_write_opts(body, ["NONE", "ALL_OLD"], t)
        if t.index_key_attrs() and self.p(0.1):
            self.index_write_mutation(t, item)
        ex = self.add_condition(body, t)
        ex.attach(body)
        if self.p(0.05):
            self.mutate_ex(body)
        if self.p(0.02) and "ConditionExpression" in body:
            body["Expected"] = self.expected(t)  # mixing legacy and expression parameters
        keys = [(t.name, {k: item[k] for k in t.key_attrs() if k in item})]
        return self.plain("PutItem", body, table=t.name, keys=keys)

    def gen_GetItem(self):
        t = self.table()
        body = {"TableName": t.name, "Key": self.key(t, bad=self.p(0.08))}
        ex = self.Ex(self)
        if self.p(0.35):
            body["ProjectionExpression"] = self.projection(ex, t)
        elif self.p(0.1):
            body["AttributesToGet"] = self.r.sample(self.ATTRS + t.key_attrs(), self.r.randint(1, 3))
        if self.p(0.3):
            body["ConsistentRead"] = self.p(0.5)
        if self.p(0.1):
            body["ReturnConsumedCapacity"] = "TOTAL"
        ex.attach(body)
        if self.p(0.06):
            self.mutate_ex(body)
        if self.p(0.02):
            body["ProjectionExpression"] = self.pick(["", "a,", "a..b", "l[x]", "#missing", "a, a", "m, m.x"])
        return self.plain("GetItem", body, table=t.name)

    def gen_UpdateItem(self):
        t = self.table()
        bad = self.p(0.12)
        key = self.key(t, bad=self.p(0.05))
        body = {"TableName": t.name, "Key": key}
        self.common_write_opts(body, ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"], t)
        if self.p(0.12):
            # legacy AttributeUpdates
            au = {}
            for a in self.r.sample(self.ATTRS[:10], self.r.randint(1, 3)):
                action = self.pick(["PUT", "DELETE", "ADD"])
                if action == "PUT":
                    au[a] = {"Action": "PUT", "Value": self.typed(a)}
                elif action == "DELETE":
                    au[a] = {"Action": "DELETE"} if self.p(0.6) else {"Action": "DELETE", "Value": self.typed(a)}
                else:
                    au[a] = {"Action": "ADD", "Value": self.typed(self.pick(["n", "ss", "ns", "s"]))}
            if self.p(0.1):
                au[t.hash[0]] = {"Action": "PUT", "Value": self.key_value(t.hash[1], "h")}
            body["AttributeUpdates"] = au
            if self.p(0.3):
                body["Expected"] = self.expected(t)
        else:
            ex = self.Ex(self)
            body["UpdateExpression"] = self.update_expression(ex, t, bad=bad)
            ikeys = t.index_key_attrs()
            if ikeys and self.p(0.25):
                # an index key attribute: set from the pool, to a value the index cannot take, or removed
                a = self.pick(ikeys)
                r = self.r.randrange(3)
                if r == 0:
                    v = self.bad_index_value(a, t.attr_types.get(a, "S"))
                    body["UpdateExpression"] = "SET %s = %s" % (ex.name(a), ex.val(v))
                elif r == 1:
                    body["UpdateExpression"] = "SET %s = %s" % (ex.name(a), ex.val(self.attr_value(t, a)))
                else:
                    body["UpdateExpression"] = "REMOVE %s" % ex.name(a)
            if self.p(0.35):
                body["ConditionExpression"] = self.condition(ex, t) if not self.p(0.1) else self.bad_condition(ex, t)
            ex.attach(body)
            if self.p(0.05):
                self.mutate_ex(body)
            if self.p(0.03):
                del body["UpdateExpression"]  # update with nothing but a key: creates the item
        return self.plain("UpdateItem", body, table=t.name, keys=[(t.name, key)])

    def gen_DeleteItem(self):
        t = self.table()
        key = self.key(t, bad=self.p(0.06))
        body = {"TableName": t.name, "Key": key}
        self.common_write_opts(body, ["NONE", "ALL_OLD"], t)
        ex = self.add_condition(body, t)
        ex.attach(body)
        if self.p(0.04):
            self.mutate_ex(body)
        return self.plain("DeleteItem", body, table=t.name, keys=[(t.name, key)])

    def key_condition(self, ex, t):
        hv = self.key_value(t.hash[1], "h")
        kc = "%s = %s" % (ex.name(t.hash[0]), ex.val(hv))
        if t.range and self.p(0.6):
            rn = ex.name(t.range[0])
            rt = t.range[1]
            r = self.r.randrange(4)
            if r == 0:
                kc += " AND %s %s %s" % (rn, self.pick(["=", "<", "<=", ">", ">="]), ex.val(self.key_value(rt, "r")))
            elif r == 1:
                lo, hi = self.key_value(rt, "r"), self.key_value(rt, "r")
                kc += " AND %s BETWEEN %s AND %s" % (rn, ex.val(lo), ex.val(hi))
            elif r == 2:
                v = {"S": self.pick(["a", "b", "z", ""])} if rt == "S" else ({"B": self.pick(B_VALS)} if rt == "B" else {"N": "1"})
                kc += " AND begins_with(%s, %s)" % (rn, ex.val(v))
            else:
                kc = "%s > %s AND %s" % (rn, ex.val(self.key_value(rt, "r")), kc)
        return kc, hv

    def attr_value(self, t, attr):
        """A value for `attr` of table `t` from the pools, of the attribute's type."""
        if attr in INDEX_VALUES:
            return dict(self.pick(INDEX_VALUES[attr]))
        if attr == t.hash[0]:
            return self.key_value(t.hash[1], "h")
        return self.key_value(t.attr_types.get(attr, "S"), "r")

    def index_key_condition(self, ex, t, ix):
        hv = self.attr_value(t, ix.hash[0])
        kc = "%s = %s" % (ex.name(ix.hash[0]), ex.val(hv))
        if ix.range and self.p(0.6):
            rn, ra = ex.name(ix.range[0]), ix.range[0]
            rt = t.attr_types.get(ra, "S")
            r = self.r.randrange(4)
            if r == 0:
                kc += " AND %s %s %s" % (rn, self.pick(["=", "<", "<=", ">", ">="]), ex.val(self.attr_value(t, ra)))
            elif r == 1:
                lo, hi = self.attr_value(t, ra), self.attr_value(t, ra)
                kc += " AND %s BETWEEN %s AND %s" % (rn, ex.val(lo), ex.val(hi))
            elif r == 2 and rt in ("S", "B"):
                v = {"S": self.pick(["a", "g", "h", "g1"])} if rt == "S" else {"B": self.pick(B_VALS)}
                kc += " AND begins_with(%s, %s)" % (rn, ex.val(v))
            else:
                kc = "%s > %s AND %s" % (rn, ex.val(self.attr_value(t, ra)), kc)
        return kc, hv

    def index_start_key(self, t, ix, hv):
        k = self.key(t)
        k[ix.hash[0]] = hv if self.p(0.8) else self.attr_value(t, ix.hash[0])
        if ix.range:
            k[ix.range[0]] = self.attr_value(t, ix.range[0])
        if self.p(0.1):
            k.pop(self.pick(list(k)))  # a start key without one of its attributes
        return k

    def gen_IndexQuery(self, t):
        """Query with IndexName on one of the table's indexes (or a missing one)."""
        g = self
        ixs = t.indexes()
        ix = g.pick(ixs)
        body = {"TableName": t.name, "IndexName": ix.name}
        if g.p(0.04):
            body["IndexName"] = g.pick(["no_such_index", "gsi_zz"])
        ex = self.Ex(self)
        kc, hv = self.index_key_condition(ex, t, ix)
        if g.p(0.1):
            kc = g.pick([
                "%s = %s" % (ex.name(t.hash[0]), ex.val(self.key_value(t.hash[1], "h"))) if ix.kind == "GSI"
                else "%s = %s" % (ex.name("gk"), ex.val({"S": "g1"})),          # the table's key, not the index's
                "%s = %s" % (ex.name("a"), ex.val({"S": "a"})),                 # not a key attribute
                "%s = %s" % (ex.name(ix.hash[0]), ex.val({"SS": ["a"]})),
                "%s = %s" % (ex.name(ix.hash[0]), ex.val({"S": ""} if t.attr_types.get(ix.hash[0]) == "S" else {"BOOL": True})),
                "%s = %s" % (ex.name(ix.hash[0]), ex.val({"N": "1"} if t.attr_types.get(ix.hash[0]) != "N" else {"S": "1"})),
                "%s >= %s" % (ex.name(ix.hash[0]), ex.val(hv)),
                kc + " AND %s = %s" % (ex.name(t.range[0] if t.range and ix.kind == "LSI" else "a"), ex.val({"S": "a"})),
            ])
        legacy = g.p(0.08)
        if legacy:
            kcl = {ix.hash[0]: {"ComparisonOperator": "EQ", "AttributeValueList": [hv]}}
            if ix.range and g.p(0.5):
                kcl[ix.range[0]] = {"ComparisonOperator": g.pick(["GE", "LT", "EQ"]),
                                    "AttributeValueList": [self.attr_value(t, ix.range[0])]}
            body["KeyConditions"] = kcl
            if g.p(0.3):
                body["AttributesToGet"] = g.r.sample(["a", "s", "n", "gk", "gn", "m"] + t.key_attrs(), g.r.randint(1, 3))
            ex = self.Ex(self)
        else:
            body["KeyConditionExpression"] = kc
        # what to return: the projection, all attributes, specific ones (projected or not)
        if g.p(0.45):
            body["Select"] = g.pick(["ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"])
        if not legacy and (g.p(0.3) or body.get("Select") == "SPECIFIC_ATTRIBUTES" and g.p(0.85)):
            pool = ["a", "s", "n", "m", "flag", "gk", "gn", "gb", "ttl", "status"] + t.key_attrs()
            body["ProjectionExpression"] = ", ".join(ex.name(a) for a in g.r.sample(pool, g.r.randint(1, 3)))
        if not legacy and g.p(0.2):
            body["FilterExpression"] = self.condition(ex, t)
        if not legacy:
            ex.attach(body)
        if g.p(0.12):
            body["ConsistentRead"] = g.p(0.8)
        if g.p(0.3):
            body["ScanIndexForward"] = g.p(0.5)
        if g.p(0.08):
            body["ReturnConsumedCapacity"] = g.pick(["TOTAL", "INDEXES"])
        if g.p(0.2):
            # all pages, each server following its own LastEvaluatedKey
            body["Limit"] = g.pick([1, 2, 3])
            body.pop("ConsistentRead", None) if ix.kind == "GSI" else None
            return {"op": "Query", "kind": "query-all", "body": body, "table": t.name, "keys": [],
                    "service": "DynamoDB_20120810", "index_keys": ix.key_attrs()}
        if g.p(0.3):
            body["Limit"] = g.pick([1, 2, 3, 5])
        if g.p(0.15):
            body["ExclusiveStartKey"] = self.index_start_key(t, ix, hv)
        step = self.plain("Query", body, table=t.name)
        if body["IndexName"] == ix.name:
            step["index_keys"] = ix.key_attrs()
        return step

    def gen_Query(self):
        g = self
        t = self.table()
        if t.indexes() and g.p(0.5):
            return self.gen_IndexQuery(t)
        body = {"TableName": t.name}
        ex = self.Ex(self)
        legacy = g.p(0.12)
        if legacy:
            kc = {t.hash[0]: {"ComparisonOperator": "EQ", "AttributeValueList": [self.key_value(t.hash[1], "h")]}}
            if t.range and g.p(0.5):
                op = g.pick(["EQ", "LT", "GE", "BETWEEN", "BEGINS_WITH"])
                avl = [self.key_value(t.range[1], "r")] + ([self.key_value(t.range[1], "r")] if op == "BETWEEN" else [])
                kc[t.range[0]] = {"ComparisonOperator": op, "AttributeValueList": avl}
            body["KeyConditions"] = kc
            if g.p(0.3):
                body["QueryFilter"] = {a: v for a, v in self.expected(t).items() if "ComparisonOperator" in v} or \
                    {"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}}
            if g.p(0.3):
                body["AttributesToGet"] = g.r.sample(self.ATTRS + t.key_attrs(), g.r.randint(1, 3))
        else:
            kc, _ = self.key_condition(ex, t)
            if g.p(0.1):
                kc = g.pick([
                    "%s = %s" % (ex.path(t), ex.val({"S": "a"})),  # not a key attribute
                    kc + " OR %s = %s" % (ex.name(t.hash[0]), ex.val(self.key_value(t.hash[1], "h"))),
                    "%s > %s" % (ex.name(t.hash[0]), ex.val(self.key_value(t.hash[1], "h"))),
                    "begins_with(%s, %s)" % (ex.name(t.hash[0]), ex.val({"S": "h"})),
                    kc + " AND %s = %s" % (ex.name(t.hash[0]), ex.val(self.key_value(t.hash[1], "h"))),
                    "%s = %s" % (ex.name(t.hash[0]), ex.val({"SS": ["a"]})),
                    "%s = %s AND attribute_exists(%s)" % (ex.name(t.hash[0]), ex.val(self.key_value(t.hash[1], "h")), ex.name("n")),
                ])
            body["KeyConditionExpression"] = kc
            if g.p(0.3):
                body["FilterExpression"] = self.condition(ex, t) if not g.p(0.1) else self.bad_condition(ex, t)
            if g.p(0.3):
                body["ProjectionExpression"] = self.projection(ex, t)
            ex.attach(body)
        if g.p(0.35):
            body["ScanIndexForward"] = g.p(0.5)
        if g.p(0.35):
            body["Limit"] = g.pick([1, 2, 3, 5] + ([0, -1] if g.p(0.1) else []))
        if g.p(0.2):
            body["ExclusiveStartKey"] = self.key(t, bad=g.p(0.1))
        if g.p(0.2):
            sel = g.pick(["ALL_ATTRIBUTES", "COUNT", "SPECIFIC_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"])
            body["Select"] = sel
        if g.p(0.15):
            body["ConsistentRead"] = True
        if g.p(0.08):
            body["ReturnConsumedCapacity"] = "TOTAL"
        if g.p(0.04):
            self.mutate_ex(body)
        if g.p(0.02):
            body["IndexName"] = "no_such_index"
        return self.plain("Query", body, table=t.name)

    def gen_Scan(self):
        g = self
        t = self.table()
        body = {"TableName": t.name}
        ex = self.Ex(self)
        ix = g.pick(t.indexes()) if t.indexes() and g.p(0.4) else None
        # No filter on a GSI that does not project everything: DynamoDB Local evaluates it
        # against the table's item, which a GSI cannot read (DIFFERENCES.md, D30).
        no_filter = ix is not None and ix.kind == "GSI" and ix.projection != "ALL"
        if no_filter:
            pass
        elif g.p(0.1):
            body["ScanFilter"] = {a: v for a, v in self.expected(t).items() if "ComparisonOperator" in v} or \
                {"n": {"ComparisonOperator": "NOT_NULL"}}
            if g.p(0.3):
                body["ConditionalOperator"] = g.pick(["AND", "OR"])
        elif g.p(0.4):
            body["FilterExpression"] = self.condition(ex, t) if not g.p(0.08) else self.bad_condition(ex, t)
        if g.p(0.3):
            body["ProjectionExpression"] = self.projection(ex, t)
        ex.attach(body)
        if g.p(0.25):
            body["Limit"] = g.pick([1, 2, 5, 100] + ([0] if g.p(0.1) else []))
        if g.p(0.15):
            body["Select"] = g.pick(["COUNT", "ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES"])
        if g.p(0.1):
            tot = g.pick([1, 2, 4, 0, 1000001])
            body["TotalSegments"] = tot
            body["Segment"] = g.pick([0, 1, 3, -1])
        if g.p(0.05):
            body["ExclusiveStartKey"] = self.key(t)
        if g.p(0.04):
            self.mutate_ex(body)
        if ix is not None:
            self.index_scan_options(t, body, ix)
        return self.plain("Scan", body, table=t.name)

    def index_scan_options(self, t, body, ix):
        g = self
        body["IndexName"] = ix.name if not g.p(0.04) else "no_such_index"
        r = g.r.randrange(6)
        if r == 0:
            body["Select"] = g.pick(["ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT"])
        elif r == 1:
            body["ConsistentRead"] = True
        elif r == 2 and "ProjectionExpression" not in body and "ScanFilter" not in body:
            names = body.setdefault("ExpressionAttributeNames", {})
            attrs = g.r.sample(["a", "s", "n", "m", "gk", "gn", "ttl"] + t.key_attrs(), g.r.randint(1, 3))
            for i, a in enumerate(attrs):
                names["#p%d" % i] = a
            body["ProjectionExpression"] = ", ".join("#p%d" % i for i in range(len(attrs)))
            if g.p(0.5):
                body["Select"] = "SPECIFIC_ATTRIBUTES"
        elif r == 3 and "ExclusiveStartKey" in body:
            body["ExclusiveStartKey"] = self.index_start_key(t, ix, self.attr_value(t, ix.hash[0]))
        return body

    def gen_ScanAll(self):
        """A full, paginated (and possibly parallel) scan: the union of all pages of all
        segments is compared as a multiset."""
        t = self.table(0)
        body = {"TableName": t.name}
        ex = self.Ex(self)
        if self.p(0.4):
            body["FilterExpression"] = self.condition(ex, t)
        if self.p(0.3):
            body["ProjectionExpression"] = self.projection(ex, t)
        ex.attach(body)
        if self.p(0.7):
            body["Limit"] = self.pick([1, 2, 3, 7])
        if t.indexes() and self.p(0.4):
            ix = self.pick(t.indexes())
            body["IndexName"] = ix.name
            if ix.kind == "GSI" and ix.projection != "ALL":
                body.pop("ProjectionExpression", None)
                body.pop("FilterExpression", None)
                body.pop("ExpressionAttributeNames", None)
                body.pop("ExpressionAttributeValues", None)
        segs = self.pick([1, 1, 2, 3, 4])
        return {"op": "Scan", "kind": "scan-all", "body": body, "segments": segs, "table": t.name,
                "keys": [], "service": "DynamoDB_20120810"}

    def gen_BatchGetItem(self):
        g = self
        ri = {}
        for _ in range(g.r.randint(1, 2)):
            t = self.table(0.05)
            keys = []
            seen = set()
            for _ in range(g.r.randint(1, 6)):
                k = self.key(t)
                c = repr(sorted(k.items()))
                if c not in seen:
                    seen.add(c)
                    keys.append(k)
            spec = {"Keys": keys}
            ex = self.Ex(self)
            if g.p(0.3):
                spec["ProjectionExpression"] = self.projection(ex, t)
                ex.attach(spec, values=False)
            elif g.p(0.1):
                spec["AttributesToGet"] = g.r.sample(self.ATTRS + t.key_attrs(), 2)
            if g.p(0.2):
                spec["ConsistentRead"] = True
            ri[t.name] = spec
        body = {"RequestItems": ri}
        if g.p(0.15):
            spec = next(iter(ri.values()))
            m = g.r.randrange(5)
            if m == 0:
                spec["Keys"].append(dict(spec["Keys"][0]))  # duplicate key
            elif m == 1:
                t = self.table(0)
                spec["Keys"] = [self.key(t) for _ in range(101)]
            elif m == 2:
                spec["Keys"] = []
            elif m == 3:
                body["RequestItems"] = {}
            else:
                t = self.tables.get(next(iter(ri)))
                if t:
                    spec["Keys"].append(self.key(t, bad=True))
        if g.p(0.1):
            body["ReturnConsumedCapacity"] = "TOTAL"
        return self.plain("BatchGetItem", body)

    def gen_BatchWriteItem(self):
        g = self
        ri = {}
        written = []
        for _ in range(g.r.randint(1, 2)):
            t = self.table(0.05)
            reqs = []
            seen = set()
            for _ in range(g.r.randint(1, 8)):
                if g.p(0.7):
                    it = self.item(t)
                    k = {a: it[a] for a in t.key_attrs()}
                    rq = {"PutRequest": {"Item": it}}
                else:
                    k = self.key(t)
                    rq = {"DeleteRequest": {"Key": k}}
                c = repr(sorted(k.items()))
                if c in seen:
                    continue
                seen.add(c)
                reqs.append(rq)
                written.append((t.name, k))
            ri[t.name] = reqs
        body = {"RequestItems": ri}
        if g.p(0.15):
            tn = next(iter(ri))
            t = self.tables.get(tn) or Table(tn, SCHEMAS[0])
            m = g.r.randrange(6)
            if m == 0:
                ri[tn].append(ri[tn][0])  # duplicate key
            elif m == 1:
                ri[tn] = [{"PutRequest": {"Item": self.item(t)}} for _ in range(26)]
            elif m == 2:
                ri[tn] = []
            elif m == 3:
                ri[tn].append({"PutRequest": {"Item": self.item(t, bad=True)}})
            elif m == 4:
                ri[tn].append({"PutRequest": {"Item": self.item(t)}, "DeleteRequest": {"Key": self.key(t)}})
            else:
                ri[tn].append({"DeleteRequest": {"Key": self.key(t, bad=True)}})
        if g.p(0.1):
            body["ReturnConsumedCapacity"] = g.pick(["TOTAL", "TOTAL", "INDEXES"])
        if g.p(0.12):
            body["ReturnItemCollectionMetrics"] = "SIZE"
        return self.plain("BatchWriteItem", body, keys=written[:12])

    def gen_TransactGetItems(self):
        g = self
        items = []
        seen = set()
        for _ in range(g.r.randint(1, 5)):
            t = self.table(0.03)
            k = self.key(t)
            c = (t.name, repr(sorted(k.items())))
            if c in seen:
                continue
            seen.add(c)
            get = {"TableName": t.name, "Key": k}
            if g.p(0.3):
                ex = self.Ex(self)
                get["ProjectionExpression"] = self.projection(ex, t)
                ex.attach(get, values=False)
            items.append({"Get": get})
        if g.p(0.1):
            m = g.r.randrange(3)
            if m == 0:
                items.append(items[0])
            elif m == 1:
                items = []
            else:
                t = self.table(0)
                items = [{"Get": {"TableName": t.name, "Key": self.key(t)}} for _ in range(101)]
        body = {"TransactItems": items}
        if g.p(0.1):
            body["ReturnConsumedCapacity"] = "TOTAL"
        return self.plain("TransactGetItems", body)

    def gen_TransactWriteItems(self):
        g = self
        items = []
        seen = set()
        written = []
        for _ in range(g.r.randint(1, 4)):
            t = self.table(0.03)
            kind = g.pick(["Put", "Update", "Delete", "ConditionCheck"])
            ex = self.Ex(self)
            if kind == "Put":
                it = self.item(t, bad=g.p(0.03))
                k = {a: it[a] for a in t.key_attrs() if a in it}
                op = {"TableName": t.name, "Item": it}
            else:
                k = self.key(t)
                op = {"TableName": t.name, "Key": k}
            if kind == "Update":
                op["UpdateExpression"] = self.update_expression(ex, t, bad=g.p(0.05))
            if kind == "ConditionCheck" or g.p(0.4):
                op["ConditionExpression"] = self.condition(ex, t)
            if g.p(0.25):
                op["ReturnValuesOnConditionCheckFailure"] = g.pick(["ALL_OLD", "NONE"])
            ex.attach(op)
            c = (t.name, repr(sorted(k.items())))
            if c in seen and not g.p(0.1):
                continue
            seen.add(c)
            items.append({kind: op})
            if kind != "ConditionCheck":
                written.append((t.name, k))
        if g.p(0.08):
            m = g.r.randrange(4)
            if m == 0:
                items = []
            elif m == 1:
                items.append({"Put": {"TableName": "tab_a"}, "Delete": {"TableName": "tab_a"}})
            elif m == 2 and items:
                items.append(items[0])
            else:
                items = [{"ConditionCheck": {"TableName": "tab_a", "Key": {"pk": {"S": "x"}}}}]
        body = {"TransactItems": items}
        if g.p(0.1):
            body["ReturnConsumedCapacity"] = "TOTAL"
        if g.p(0.1):
            body["ReturnItemCollectionMetrics"] = "SIZE"
        if g.p(0.2):
            self.token_n = getattr(self, "token_n", 0) + 1
            body["ClientRequestToken"] = "token-%d" % self.token_n
        last = getattr(self, "last_twi", None)
        if last and any(op["TableName"] not in self.tables for it in last["body"]["TransactItems"]
                        for op in it.values() if isinstance(op, dict) and "TableName" in op):
            last = self.last_twi = None  # a retry after one of its tables was dropped: not replayed
        if last and g.p(0.08):
            # an idempotent retry: the same request with the same token
            return last
        if last and g.p(0.02):
            # the same token with a different request
            body["ClientRequestToken"] = last["body"]["ClientRequestToken"]
        step = self.plain("TransactWriteItems", body, keys=written)
        if "ClientRequestToken" in body:
            self.last_twi = step
        return step

    # -- streams --
    S = "DynamoDBStreams_20120810"

    def streamed_table(self):
        st = [t for t in self.tables.values() if t.stream]
        return self.pick(sorted(st, key=lambda t: t.name)) if st else self.table()

    def gen_ListStreams(self):
        body = {}
        if self.p(0.5):
            body["TableName"] = self.table().name
        if self.p(0.3):
            body["Limit"] = self.pick([1, 2, 100] + ([0] if self.p(0.2) else []))
        return self.plain("ListStreams", body, service=self.S)

    def gen_DescribeStream(self):
        t = self.streamed_table()
        body = {"StreamArn": "@@STREAM:%s@@" % t.name}
        if self.p(0.1):
            body["StreamArn"] = self.pick(["bogus", "arn:aws:dynamodb:us-east-1:000000000000:table/missing_table/stream/2020-01-01T00:00:00.000"])
        if self.p(0.2):
            body["Limit"] = self.pick([1, 100])
        return self.plain("DescribeStream", body, table=t.name, service=self.S)

    def gen_GetShardIterator(self):
        t = self.streamed_table()
        body = {"StreamArn": "@@STREAM:%s@@" % t.name, "ShardId": "@@SHARD:%s@@" % t.name,
                "ShardIteratorType": self.pick(["TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "BOGUS"])}
        if body["ShardIteratorType"] == "AT_SEQUENCE_NUMBER" and self.p(0.5):
            body["SequenceNumber"] = "000000000000000000001"
        if self.p(0.1):
            body["ShardId"] = "shardId-00000000000000000000-00000000"
        return self.plain("GetShardIterator", body, table=t.name, service=self.S)

    def gen_GetRecords(self):
        body = {"ShardIterator": self.pick(["bogus-iterator", "arn:aws:dynamodb:us-east-1:000000000000:table/tab_a/stream/2020|1|AAAA"])}
        if self.p(0.3):
            body["Limit"] = self.pick([0, 1, 1001])
        return self.plain("GetRecords", body, service=self.S)

    def gen_StreamRead(self):
        t = self.streamed_table()
        return {"op": "GetRecords", "kind": "stream-read", "body": {}, "table": t.name, "keys": [],
                "service": self.S}

    # -- wire-level malformations --
    def gen_Malformed(self):
        t = self.table()
        g = self
        m = g.r.randrange(10)
        if m == 0:
            return self.plain("GetItem", {"TableName": t.name, "Key": self.key(t), "ConsistentRead": "yes"}, table=t.name)
        if m == 1:
            return self.plain("Query", {"TableName": t.name, "Limit": "ten"}, table=t.name)
        if m == 2:
            return self.plain("PutItem", {"TableName": t.name}, table=t.name)
        if m == 3:
            return self.plain("GetItem", {"TableName": t.name}, table=t.name)
        if m == 4:
            return self.plain("PutItem", {"TableName": t.name, "Item": []}, table=t.name)
        if m == 5:
            return self.plain("Scan", {"TableName": 5}, table=t.name)
        if m == 6:
            return self.plain("GetItem", {"TableName": t.name, "Key": self.key(t), "Unknown": 1}, table=t.name)
        if m == 7:
            return self.plain("PutItem", {"TableName": t.name, "Item": dict(self.key(t), a={"S": "a", "N": "1"})}, table=t.name)
        if m == 8:
            return self.plain("DeleteItem", {"TableName": t.name, "Key": dict(self.key(t), **{tab: {} for tab in ["x"]})}, table=t.name)
        return self.plain("NoSuchOperation", {}, table=None)

    # ---- model updates from the reference server's answers ------------------------------------
    def observe(self, step, ok, body):
        op = step["op"]
        if step["kind"] != "plain":
            return
        name = step.get("table")
        if op == "CreateTable" and ok:
            req = step["body"]
            ss = req.get("StreamSpecification") or {}
            self.tables[name] = Table(name, step["schema"], ss.get("StreamViewType") if ss.get("StreamEnabled") else None)
        elif op == "DeleteTable" and ok:
            self.tables.pop(step["body"]["TableName"], None)
        elif op == "UpdateTable" and ok and name in self.tables:
            ss = step["body"].get("StreamSpecification")
            if ss is not None:
                self.tables[name].stream = ss.get("StreamViewType") if ss.get("StreamEnabled") else None
        elif op == "UpdateTimeToLive" and ok and name in self.tables:
            spec = body.get("TimeToLiveSpecification") or {}
            self.tables[name].ttl = spec.get("AttributeName") if spec.get("Enabled") else None

    def learn(self, name, desc):
        """The reference server's description of a table after a table operation settled."""
        if name in self.tables and isinstance(desc, dict):
            self.tables[name].learn(desc)
