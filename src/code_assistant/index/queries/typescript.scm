; Definitions in TypeScript and TSX.
(class_declaration name: (type_identifier) @name) @definition.class

(abstract_class_declaration name: (type_identifier) @name) @definition.class

(interface_declaration name: (type_identifier) @name) @definition.interface

(enum_declaration name: (identifier) @name) @definition.enum

(type_alias_declaration name: (type_identifier) @name) @definition.type

(method_definition name: [(property_identifier) (private_property_identifier)] @name)
  @definition.method

(abstract_method_signature name: (property_identifier) @name) @definition.method

(method_signature name: (property_identifier) @name) @definition.method

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method

; (include ecmascript.scm): the patterns JavaScript and TypeScript share go here


; Overload signatures and `declare function`.
(function_signature name: (identifier) @name) @definition.function

; Named class expressions: `globalThis.Headers = class Headers extends Base {}`.
(class name: (type_identifier) @name) @definition.class

; Members of interfaces and object types whose type is a function:
; `get: <T>(url: Input) => ResponsePromise<T>;`, `stringifyJson?: (data: unknown) => string;`.
(property_signature
  name: (property_identifier) @name
  type: (type_annotation [(function_type) (parenthesized_type (function_type))])) @definition.method
