//! The fixed schema types the fuzz targets decode against: every kind of type, nested.

use crate::value::Type;

pub fn types() -> Vec<Type> {
    let block = Type::object([
        ("name", Type::String),
        ("weight", Type::Number),
        ("enabled", Type::Bool),
        ("tags", Type::set(Type::String)),
    ]);
    vec![
        Type::Dynamic,
        Type::Number,
        Type::String,
        Type::object([
            ("id", Type::String),
            ("route", Type::list(block.clone())),
            ("env", Type::map(Type::String)),
            ("pair", Type::Tuple(vec![Type::Bool, Type::Number])),
            ("extra", Type::Dynamic),
            ("single", block),
        ]),
    ]
}
