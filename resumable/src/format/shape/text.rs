//! Text: rendering a traced type as the canonical text (see "Text" in the module docs of
//! [`super`]), escaping its names, and parsing a text back into a model to compare.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::trace::{Body, Def, Id, Ty, Untraceable};
use super::{LARGE, UNTRACED};

const PRIMITIVES: &[&str] = &[
    "bool", "i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128", "f32", "f64",
    "char", "str", "bytes",
];

/// A tuple of more than this many equal elements is written as an array, `[T; N]`.
const TUPLE_AS_ARRAY_OVER: usize = 4;

pub(super) fn render(root: &Ty, defs: &HashMap<Id, Def>) -> Result<String, Untraceable> {
    // The containers reachable from the root, breadth first.
    let mut order: Vec<Id> = Vec::new();
    let mut queue: VecDeque<&Id> = VecDeque::new();
    let mut refs = Vec::new();
    root.refs(&mut refs);
    queue.extend(refs);
    while let Some(&id) = queue.pop_front() {
        if order.contains(&id) {
            continue;
        }
        let def = defs
            .get(id)
            .ok_or_else(|| Untraceable::new(format!("`{id}` was never read")))?;
        order.push(id);
        queue.extend(def.refs());
    }

    let mut count: HashMap<String, usize> = HashMap::new();
    for id in &order {
        *count.entry(escape(defs[id].name())).or_default() += 1;
    }
    let mut numbered: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<Id, String> = HashMap::new();
    for &id in &order {
        let base = escape(defs[id].name());
        let name = if count[&base] == 1 && !PRIMITIVES.contains(&base.as_str()) {
            base
        } else {
            let number = numbered.entry(base.clone()).or_default();
            *number += 1;
            format!("{base}#{number}")
        };
        names.insert(id, name);
    }

    let mut lines = BTreeMap::new();
    for &id in &order {
        let name = &names[id];
        let line = match &defs[id] {
            Def::Struct { body, .. } => format!("struct {name}{}", render_body(body, &names)?),
            Def::Enum {
                variants, bodies, ..
            } => {
                let mut rendered = Vec::new();
                for (variant, body) in variants.iter().zip(bodies) {
                    let body = body
                        .as_ref()
                        .ok_or_else(|| Untraceable::new(format!("`{name}::{variant}` not read")))?;
                    rendered.push(format!("{}{}", escape(variant), render_body(body, &names)?));
                }
                format!("enum {name} {{ {} }}", rendered.join(", "))
            }
        };
        lines.insert(name.as_str(), line);
    }
    let mut text = format!("root: {}", render_ty(root, &names)?);
    for line in lines.values() {
        text.push('\n');
        text.push_str(line);
    }
    Ok(text)
}

fn render_body(body: &Body, names: &HashMap<Id, String>) -> Result<String, Untraceable> {
    Ok(match body {
        Body::Unit => String::new(),
        Body::Tuple(items) => format!("({})", render_list(items.iter(), names)?),
        Body::Struct(fields) if fields.is_empty() => " {}".into(),
        Body::Struct(fields) => {
            let mut rendered = Vec::new();
            for (field, ty) in fields {
                rendered.push(format!("{}: {}", escape(field), render_ty(ty, names)?));
            }
            format!(" {{ {} }}", rendered.join(", "))
        }
    })
}

fn render_list<'a>(
    items: impl Iterator<Item = &'a Ty>,
    names: &HashMap<Id, String>,
) -> Result<String, Untraceable> {
    let rendered: Result<Vec<String>, Untraceable> =
        items.map(|item| render_ty(item, names)).collect();
    Ok(rendered?.join(", "))
}

fn render_ty(ty: &Ty, names: &HashMap<Id, String>) -> Result<String, Untraceable> {
    Ok(match ty {
        Ty::Unknown => return Err(Untraceable::new("a part of it was never read")),
        Ty::Prim(name) => (*name).into(),
        Ty::Option(inner) => format!("Option<{}>", render_ty(inner, names)?),
        Ty::Seq(item) => format!("[{}]", render_ty(item, names)?),
        Ty::Map(key, value) => format!(
            "Map<{}, {}>",
            render_ty(key, names)?,
            render_ty(value, names)?
        ),
        Ty::Tuple(items)
            if items.len() > TUPLE_AS_ARRAY_OVER && items.iter().all(|item| *item == items[0]) =>
        {
            format!("[{}; {}]", render_ty(&items[0], names)?, items.len())
        }
        Ty::Tuple(items) => format!("({})", render_list(items.iter(), names)?),
        Ty::Ref(id) => names[id].clone(),
        Ty::Opaque => "?".into(),
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `a-b` becomes `a%2Db`: names in the text hold only letters, digits, `_`, and `%XX`.
fn escape(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        if is_name_char(c) {
            escaped.push(c);
        } else {
            for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                escaped.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    escaped
}

/// The inverse of [`escape`], over any text of the format (`%` appears only in escapes).
pub(super) fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok());
        match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(byte) if bytes[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
// ---------------------------------------------------------------------------------------------
// Parsing

pub(super) enum Parsed<'a> {
    Traced(Model<'a>),
    Untraced(&'a str),
    Large { type_name: &'a str },
}

impl Parsed<'_> {
    pub(super) fn summary(&self) -> String {
        match self {
            Parsed::Traced(model) => unescape(model.root),
            Parsed::Untraced(type_name) | Parsed::Large { type_name } => format!("`{type_name}`"),
        }
    }
}

/// A traced shape, as text slices.
pub(super) struct Model<'a> {
    pub(super) root: &'a str,
    pub(super) defs: BTreeMap<&'a str, PDef<'a>>,
}

pub(super) enum PDef<'a> {
    Struct(PBody<'a>),
    Enum(Vec<(&'a str, PBody<'a>)>),
}

#[derive(PartialEq)]
pub(super) enum PBody<'a> {
    Unit,
    Tuple(Vec<&'a str>),
    Struct(Vec<(&'a str, &'a str)>),
}

impl<'a> PBody<'a> {
    pub(super) fn types(&self) -> Vec<&'a str> {
        match self {
            PBody::Unit => Vec::new(),
            PBody::Tuple(items) => items.clone(),
            PBody::Struct(fields) => fields.iter().map(|&(_, ty)| ty).collect(),
        }
    }

    pub(super) fn show(&self, label: &str) -> String {
        match self {
            PBody::Unit => label.into(),
            PBody::Tuple(items) => format!("{label}({})", unescape(&items.join(", "))),
            PBody::Struct(fields) if fields.is_empty() => format!("{label} {{}}"),
            PBody::Struct(fields) => {
                let fields: Vec<String> = fields.iter().map(|(f, t)| format!("{f}: {t}")).collect();
                format!("{label} {{ {} }}", unescape(&fields.join(", ")))
            }
        }
    }
}

pub(super) fn parse(text: &str) -> Option<Parsed<'_>> {
    if let Some(type_name) = text.strip_prefix(UNTRACED) {
        return Some(Parsed::Untraced(type_name));
    }
    if let Some(rest) = text.strip_prefix(LARGE) {
        let (_hash, type_name) = rest.split_once(' ')?;
        return Some(Parsed::Large { type_name });
    }
    let mut lines = text.split('\n');
    let root = lines.next()?.strip_prefix("root: ")?;
    let mut defs = BTreeMap::new();
    for line in lines {
        let def = if let Some(rest) = line.strip_prefix("struct ") {
            let (name, body) = split_name(rest);
            (name, PDef::Struct(parse_body(body)?))
        } else {
            let (name, body) = split_name(line.strip_prefix("enum ")?);
            let inner = body.strip_prefix(" { ")?.strip_suffix(" }")?;
            let variants = split_top(inner)
                .into_iter()
                .map(|variant| {
                    let (name, body) = split_name(variant);
                    Some((name, parse_body(body)?))
                })
                .collect::<Option<_>>()?;
            (name, PDef::Enum(variants))
        };
        defs.insert(def.0, def.1);
    }
    Some(Parsed::Traced(Model { root, defs }))
}

fn split_name(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(is_name_char(c) || c == '%' || c == '#'))
        .unwrap_or(text.len());
    text.split_at(end)
}

fn parse_body(text: &str) -> Option<PBody<'_>> {
    if text.is_empty() {
        Some(PBody::Unit)
    } else if let Some(inner) = text.strip_prefix('(') {
        Some(PBody::Tuple(split_top(inner.strip_suffix(')')?)))
    } else if text == " {}" {
        Some(PBody::Struct(Vec::new()))
    } else {
        let inner = text.strip_prefix(" { ")?.strip_suffix(" }")?;
        let fields = split_top(inner).into_iter().map(|f| f.split_once(": "));
        Some(PBody::Struct(fields.collect::<Option<_>>()?))
    }
}

/// Splits `a, Map<b, c>, (d, e)` at its top-level commas.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    if text.is_empty() {
        return parts;
    }
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// The container names in a type's text: words that are not primitives, not `Option` or `Map`
/// before `<`, and not an array's length.
pub(super) fn names_in(ty: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = ty;
    while let Some(start) = rest.find(|c: char| is_name_char(c) || c == '%') {
        let length = rest[..start].trim_end().ends_with(';');
        let (word, tail) = split_name(&rest[start..]);
        if !(PRIMITIVES.contains(&word) || tail.starts_with('<') || length) {
            found.push(word);
        }
        rest = tail;
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::format::shape::tests::{identical, traced};
    use crate::format::shape::{describe_change, shape_of};

    #[test]
    fn the_text_records_every_kind_of_type() {
        use identical::before::Everything;
        let text = traced::<Everything>();
        assert_eq!(
            text,
            "root: Everything\n\
             struct Duration { secs: u64, nanos: u32 }\n\
             struct Empty {}\n\
             struct Everything { id: Id, marker: Marker, pair: Pair, empty: Empty, mode: Mode, \
             text: str, boxed: str, shared: u16, floats: (f32, f64), letter: char, \
             big: (u128, i128), unit: (), bytes: [u8; 32], small_array: (u32, u32, u32), \
             map: Map<str, [(u8, bool)]>, hash_map: Map<u64, Option<Id>>, set: [i64], \
             maybe: Option<Mode>, renamed: u8, span: Range, elapsed: Duration }\n\
             struct Id(u64)\n\
             struct Marker\n\
             enum Mode { Fast, slow%2Dmode { factor: f32 } }\n\
             struct Pair(u8, i16)\n\
             struct Range { start: u64, end: u64 }"
        );
        assert_eq!(describe_change(&text, &shape_of::<Everything>()), None);
        assert!(text.len() < 1000);
    }
}
