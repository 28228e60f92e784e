//! The KQL subset the sandbox's Resource Graph answers — what azprotect's readers send, parsed
//! with a small tokenizer and recursive-descent parser (no regexes, no panics on any input):
//!
//! ```text
//! query     := table ( '|' operator )*
//! table     := Resources | ResourceContainers  (case-insensitive)
//! operator  := where predicate ( and predicate )*
//!            | project column ( ',' column )*
//!            | ( order | sort ) by column [ asc | desc ] ( ',' column [ asc | desc ] )*
//!            | ( limit | take ) integer
//!            | summarize name '=' agg ( ',' name '=' agg )* by column ( ',' column )*
//! agg       := make_list '(' expr ')' | count '(' ')'
//! expr      := column ( '.' property )* | pack '(' string ',' expr ( ',' string ',' expr )* ')'
//! predicate := column ( == | =~ | != | !~ ) string
//!            | column ( in | in~ | !in | !in~ ) '(' string ( ',' string )* ')'
//! column    := id | name | type | location | resourceGroup | subscriptionId | tenantId
//!            | kind | managedBy | sku | zones | tags | properties | identity | plan
//! string    := '…' | "…"
//! ```
//! Comparisons apply to the scalar columns (`id` … `managedBy`); `=~`, `!~`, `in~` and `!in~`
//! ignore case, as in KQL (learn.microsoft.com/kusto/query/datatypes-string-operators).
//! `ResourceContainers` holds the subscriptions (`microsoft.resources/subscriptions`) and
//! resource groups (`microsoft.resources/subscriptions/resourcegroups`) of the scope (Microsoft
//! Learn, "Azure Resource Graph table and resource type reference": the table of
//! subscriptions, resource groups and management groups; the sandbox has no management-group
//! rows there).
//! `summarize` groups the rows by its `by` columns into one row each, the `by` columns then
//! its aggregates (`make_list` of an expression, `count()`): the form Microsoft Learn's
//! "Paging Resource Graph results" uses to read a complete set of VMs in one answer
//! (`summarize make_set(id)`, `make_list` in its samples). After it only `order by` / `sort by`
//! its `by` columns, `limit` and `take` may follow.
//! Anything else (`extend`, `join`, other functions and aggregates, other tables) is a
//! [`ParseError`] that the handler answers in Resource Graph's `InvalidQuery` shape.

/// Columns a row has.
pub const COLUMNS: &[&str] = &[
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
];

/// How deep `pack`s may nest.
pub const MAX_DEPTH: usize = 16;

/// Columns a predicate or an ordering may use (strings): the first nine.
pub const SCALAR: &[&str] = COLUMNS.split_at(9).0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Resources,
    ResourceContainers,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub table: Table,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// All predicates hold.
    Where(Vec<Pred>),
    Project(Vec<String>),
    /// Columns with `true` for descending.
    Order(Vec<(String, bool)>),
    Limit(usize),
    Summarize {
        /// Output column name and its aggregate.
        aggs: Vec<(String, Agg)>,
        by: Vec<String>,
    },
}

/// An aggregate of `summarize`.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    MakeList(Expr),
    Count,
}

/// A value computed from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column, then property names into its value (`properties.storageProfile.osDisk`).
    Path(String, Vec<String>),
    /// `pack('key', expr, …)`: an object.
    Pack(Vec<(String, Expr)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pred {
    pub column: String,
    pub negated: bool,
    pub ignore_case: bool,
    /// One value for `==`-style operators, the list for `in`-style ones.
    pub values: Vec<String>,
}

impl Pred {
    pub fn holds(&self, value: &str) -> bool {
        let hit = self.values.iter().any(|v| {
            if self.ignore_case {
                v.eq_ignore_ascii_case(value)
            } else {
                v == value
            }
        });
        hit != self.negated
    }
}

/// Where and why a query is outside the subset.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 0-based character offset of the offending token.
    pub position: usize,
    pub token: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(usize),
    Punct(&'static str),
}

fn tokenize(q: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let fail = |i: usize, t: String, m: &str| ParseError {
        position: i,
        token: t,
        message: m.into(),
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(fail(start, c.to_string(), "unterminated string literal")),
                    Some('\\') => {
                        if let Some(n) = chars.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some(x) if *x == c => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push((start, Tok::Str(s)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let mut w: String = chars[start..i].iter().collect();
            // `in~` is one operator.
            if w == "in" && chars.get(i) == Some(&'~') {
                i += 1;
                w.push('~');
            }
            out.push((start, Tok::Ident(w)));
        } else if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            let n = s
                .parse()
                .map_err(|_| fail(start, s.clone(), "number out of range"))?;
            out.push((start, Tok::Num(n)));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let p = match two.as_str() {
                "==" => Some("=="),
                "=~" => Some("=~"),
                "!=" => Some("!="),
                "!~" => Some("!~"),
                _ => None,
            };
            if let Some(p) = p {
                out.push((start, Tok::Punct(p)));
                i += 2;
                continue;
            }
            if c == '!' && chars[i + 1..].starts_with(&['i', 'n']) {
                let neg_in = if chars.get(i + 3) == Some(&'~') {
                    "!in~"
                } else {
                    "!in"
                };
                out.push((start, Tok::Punct(neg_in)));
                i += neg_in.len();
                continue;
            }
            let p = match c {
                '|' => "|",
                ',' => ",",
                '=' => "=",
                '.' => ".",
                '(' => "(",
                ')' => ")",
                _ => return Err(fail(start, c.to_string(), "unexpected character")),
            };
            out.push((start, Tok::Punct(p)));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        let (position, token) = match self.toks.get(self.at) {
            Some((p, t)) => (*p, show(t)),
            None => (self.end, "<end of query>".into()),
        };
        ParseError {
            position,
            token,
            message: message.into(),
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }

    fn keyword(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == k) {
            self.at += 1;
            return true;
        }
        false
    }

    fn punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(x)) if *x == p) {
            self.at += 1;
            return true;
        }
        false
    }

    fn column(&mut self, allowed: &[&str]) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Ident(w)) => match allowed.iter().find(|c| **c == w.as_str()) {
                Some(c) => {
                    self.at += 1;
                    Ok(c.to_string())
                }
                None => Err(self.error(format!(
                    "'{w}' is not a column the sandbox's Resource Graph supports here (one of: {})",
                    allowed.join(", ")
                ))),
            },
            _ => Err(self.error("a column name was expected")),
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.error("a string literal was expected")),
        }
    }

    fn predicate(&mut self) -> Result<Pred, ParseError> {
        let column = self.column(SCALAR)?;
        let op = match self.next() {
            Some(Tok::Punct(p)) => p.to_string(),
            Some(Tok::Ident(w)) if w == "in" || w == "in~" => w,
            _ => {
                self.at -= 1;
                return Err(
                    self.error("a comparison (==, =~, !=, !~, in, in~, !in, !in~) was expected")
                );
            }
        };
        let (negated, ignore_case) = match op.as_str() {
            "==" | "in" => (false, false),
            "=~" | "in~" => (false, true),
            "!=" | "!in" => (true, false),
            "!~" | "!in~" => (true, true),
            _ => {
                self.at -= 1;
                return Err(self.error("a comparison operator was expected"));
            }
        };
        let values = if op.contains("in") {
            if !self.punct("(") {
                return Err(self.error("'(' was expected"));
            }
            let mut v = vec![self.string()?];
            while self.punct(",") {
                v.push(self.string()?);
            }
            if !self.punct(")") {
                return Err(self.error("')' was expected"));
            }
            v
        } else {
            vec![self.string()?]
        };
        Ok(Pred {
            column,
            negated,
            ignore_case,
            values,
        })
    }

    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Ident(w)) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.error(format!("{what} was expected"))),
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), ParseError> {
        match self.punct(p) {
            true => Ok(()),
            false => Err(self.error(format!("'{p}' was expected"))),
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.expr_at(0)
    }

    /// An expression `depth` `pack`s deep (at most [`MAX_DEPTH`]: a query never overflows
    /// the stack, however it nests).
    fn expr_at(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if self.keyword("pack") {
            if depth >= MAX_DEPTH {
                self.at -= 1;
                return Err(self.error(format!(
                    "pack nests more than {MAX_DEPTH} deep in the sandbox's Resource Graph"
                )));
            }
            self.expect("(")?;
            let mut pairs = Vec::new();
            loop {
                let key = self.string()?;
                self.expect(",")?;
                pairs.push((key, self.expr_at(depth + 1)?));
                if !self.punct(",") {
                    break;
                }
            }
            self.expect(")")?;
            return Ok(Expr::Pack(pairs));
        }
        let column = self.column(COLUMNS)?;
        let mut path = Vec::new();
        while self.punct(".") {
            path.push(self.ident("a property name")?);
        }
        Ok(Expr::Path(column, path))
    }

    fn aggregate(&mut self) -> Result<(String, Agg), ParseError> {
        let name = self.ident("an output column name")?;
        self.expect("=")?;
        let agg = if self.keyword("make_list") {
            self.expect("(")?;
            let e = self.expr()?;
            self.expect(")")?;
            Agg::MakeList(e)
        } else if self.keyword("count") {
            self.expect("(")?;
            self.expect(")")?;
            Agg::Count
        } else {
            return Err(
                self.error("the sandbox's Resource Graph aggregates with make_list and count only")
            );
        };
        Ok((name, agg))
    }

    fn summarize(&mut self) -> Result<Op, ParseError> {
        let mut aggs = vec![self.aggregate()?];
        while self.punct(",") {
            aggs.push(self.aggregate()?);
        }
        if !self.keyword("by") {
            return Err(self.error("'by' was expected"));
        }
        let mut by = vec![self.column(SCALAR)?];
        while self.punct(",") {
            by.push(self.column(SCALAR)?);
        }
        // Each output column once: the `by` columns, then the aggregates' names.
        let mut names: Vec<&String> = by.iter().collect();
        for (name, _) in &aggs {
            if names.contains(&name) {
                return Err(self.error(format!("the output column '{name}' is named twice")));
            }
            names.push(name);
        }
        Ok(Op::Summarize { aggs, by })
    }

    fn operator(&mut self) -> Result<Op, ParseError> {
        if self.keyword("summarize") {
            return self.summarize();
        }
        if self.keyword("where") {
            let mut preds = vec![self.predicate()?];
            while self.keyword("and") {
                preds.push(self.predicate()?);
            }
            return Ok(Op::Where(preds));
        }
        if self.keyword("project") {
            let mut cols = vec![self.column(COLUMNS)?];
            while self.punct(",") {
                cols.push(self.column(COLUMNS)?);
            }
            return Ok(Op::Project(cols));
        }
        if self.keyword("order") || self.keyword("sort") {
            if !self.keyword("by") {
                return Err(self.error("'by' was expected"));
            }
            let mut keys = Vec::new();
            loop {
                let c = self.column(SCALAR)?;
                // KQL sorts descending unless told otherwise.
                let desc = if self.keyword("asc") {
                    false
                } else {
                    self.keyword("desc");
                    true
                };
                keys.push((c, desc));
                if !self.punct(",") {
                    break;
                }
            }
            return Ok(Op::Order(keys));
        }
        if self.keyword("limit") || self.keyword("take") {
            return match self.next() {
                Some(Tok::Num(n)) => Ok(Op::Limit(n)),
                _ => {
                    self.at -= 1;
                    Err(self.error("a row count was expected"))
                }
            };
        }
        Err(self.error(
            "the sandbox's Resource Graph supports only where, project, summarize, order by, sort by, limit and take",
        ))
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Ident(w) => w.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => n.to_string(),
        Tok::Punct(p) => p.to_string(),
    }
}

/// Parse a query of the subset.
pub fn parse(q: &str) -> Result<Query, ParseError> {
    let toks = tokenize(q)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: q.chars().count(),
    };
    let table = match p.next() {
        Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("resources") => Table::Resources,
        Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("resourcecontainers") => {
            Table::ResourceContainers
        }
        _ => {
            p.at = 0;
            return Err(p.error(
                "the sandbox's Resource Graph serves the Resources and ResourceContainers tables only",
            ));
        }
    };
    let mut ops = Vec::new();
    let mut grouped: Option<Vec<String>> = None;
    while p.punct("|") {
        let at = p.at;
        let op = p.operator()?;
        // After `summarize` its rows have only its own columns: order them by its `by`
        // columns, or cut them.
        let projected = ops.iter().any(|o| matches!(o, Op::Project(_)));
        let fits = match (&grouped, &op) {
            // The sandbox summarizes whole rows: no `project` before it.
            (None, Op::Summarize { .. }) => !projected,
            (None, _) | (Some(_), Op::Limit(_)) => true,
            (Some(by), Op::Order(keys)) => keys.iter().all(|(c, _)| by.contains(c)),
            (Some(_), _) => false,
        };
        if !fits {
            p.at = at;
            return Err(p.error("the sandbox's Resource Graph summarizes whole rows (no project before it), then orders by its 'by' columns or limits, nothing else"));
        }
        if let Op::Summarize { by, .. } = &op {
            grouped = Some(by.clone());
        }
        ops.push(op);
    }
    if p.peek().is_some() {
        return Err(p.error("'|' was expected"));
    }
    Ok(Query { table, ops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readers_query_parses() {
        let q = parse("Resources | where type =~ 'microsoft.compute/virtualmachines' and subscriptionId in~ ('A', \"b\") | project id, name, location, resourceGroup, subscriptionId, tags, properties | order by id asc | limit 5").unwrap();
        assert_eq!(q.ops.len(), 4);
        let Op::Where(p) = &q.ops[0] else {
            panic!("{q:?}")
        };
        assert!(p[0].holds("Microsoft.Compute/virtualMachines"));
        assert!(!p[0].holds("microsoft.compute/disks"));
        assert!(p[1].holds("a") && p[1].holds("B"));
        assert_eq!(q.ops[2], Op::Order(vec![("id".into(), false)]));
        assert_eq!(q.ops[3], Op::Limit(5));
        let neg = parse("resources | where name !in ('x') and kind != 'y' | sort by name").unwrap();
        let Op::Where(p) = &neg.ops[0] else { panic!() };
        assert!(p[0].negated && !p[0].ignore_case && p[0].holds("X"));
        assert_eq!(neg.ops[1], Op::Order(vec![("name".into(), true)]));
    }

    #[test]
    fn a_summary_of_packed_paths_parses() {
        let q = parse("Resources | where type =~ 'x' | summarize vms = make_list(pack('id', id, 'p', pack('os', properties.storageProfile.osDisk))), n = count() by subscriptionId | order by subscriptionId asc").unwrap();
        let Op::Summarize { aggs, by } = &q.ops[1] else {
            panic!("{q:?}")
        };
        assert_eq!(by, &vec!["subscriptionId".to_string()]);
        let os = Expr::Path(
            "properties".into(),
            vec!["storageProfile".into(), "osDisk".into()],
        );
        let packed = Expr::Pack(vec![
            ("id".into(), Expr::Path("id".into(), vec![])),
            ("p".into(), Expr::Pack(vec![("os".into(), os)])),
        ]);
        assert_eq!(
            aggs,
            &vec![
                ("vms".to_string(), Agg::MakeList(packed)),
                ("n".to_string(), Agg::Count)
            ]
        );
        assert_eq!(q.ops[2], Op::Order(vec![("subscriptionId".into(), false)]));
    }

    #[test]
    fn queries_outside_the_subset_say_where() {
        let e = parse("Resources | extend x = 1").unwrap_err();
        assert_eq!((e.position, e.token.as_str()), (12, "extend"));
        // An aggregate is named; only make_list and count; after summarize only its order.
        let e = parse("Resources | summarize count() by type").unwrap_err();
        assert_eq!((e.position, e.token.as_str()), (27, "("));
        assert!(parse("Resources | summarize n = dcount(id) by type").is_err());
        let e = parse("Resources | summarize n = count() by type | where name == 'x'").unwrap_err();
        assert_eq!(e.token, "where");
        assert!(parse("Resources | summarize n = count() by type | order by id asc").is_err());
        assert!(parse("Resources | summarize v = make_list(pack('a')) by type").is_err());
        assert!(parse("Resources | summarize type = count() by type").is_err());
        assert!(parse("Resources | summarize n = count(), n = count() by type").is_err());
        assert!(parse("Resources | project id | summarize n = count() by type").is_err());
        // However deep a query nests, it is refused, never a stack overflow.
        let deep = format!(
            "Resources | summarize v = make_list({}id{}) by type",
            "pack('a', ".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nests more than 16"), "{e:?}");
        let ok = format!(
            "Resources | summarize v = make_list({}id{}) by type",
            "pack('a', ".repeat(16),
            ")".repeat(16)
        );
        assert!(parse(&ok).is_ok());
        let e = parse("Resources | whre type == 'x'").unwrap_err();
        assert_eq!(e.token, "whre");
        assert_eq!(parse("ResourceChanges").unwrap_err().position, 0);
        assert!(parse("Resources | where type == 'x").is_err());
        assert!(parse("Resources | where foo == 'x'").is_err());
        assert!(parse("Resources | limit").is_err());
        assert!(parse("Resources | where type in ('a',").is_err());
        assert!(parse("").is_err());
        assert!(parse("Resources | where type = 'x' §").is_err());
        assert_eq!(parse("Resources").unwrap().ops, vec![]);
        let c = parse("resourcecontainers | where type in~ ('microsoft.resources/subscriptions')");
        assert_eq!(c.unwrap().table, Table::ResourceContainers);
        assert!(parse("ResourceChanges").is_err());
    }
}
