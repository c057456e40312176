; Definitions in Rust. An impl block is named after the type it implements.
(struct_item name: (type_identifier) @name) @definition.struct

(union_item name: (type_identifier) @name) @definition.struct

(enum_item name: (type_identifier) @name) @definition.enum

(trait_item name: (type_identifier) @name) @definition.trait

(impl_item type: (_) @name) @definition.impl

(function_item name: (identifier) @name) @definition.function

(function_signature_item name: (identifier) @name) @definition.function

(const_item name: (identifier) @name) @definition.constant

(static_item name: (identifier) @name) @definition.constant

(type_item name: (type_identifier) @name) @definition.type

(mod_item name: (identifier) @name) @definition.module

(macro_definition name: (identifier) @name) @definition.macro
