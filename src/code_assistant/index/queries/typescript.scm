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

(function_declaration name: (identifier) @name) @definition.function

(generator_function_declaration name: (identifier) @name) @definition.function

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; Functions assigned to a member: `res.send = function send(body) {}`, `app.use = function (fn)`,
; `exports.x = () => 1`, `Foo.prototype.bar = function () {}`. The object becomes @parent.
(assignment_expression
  left: (member_expression object: (_) @parent property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]) @definition.method

; Object-literal members with a function value: `{ send: function () {} }`, `{ 'a-b': () => 1 }`.
(pair
  key: [(property_identifier) @name (string (string_fragment) @name)]
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method

; A named function expression anywhere else (`defineGetter(req, 'x', function x() {})`).
(function_expression name: (identifier) @name) @definition.function

; Top-level UPPER_CASE constants (a function value above takes precedence).
(program
  (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

(program
  (export_statement
    (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant))
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

; Overload signatures and `declare function`.
(function_signature name: (identifier) @name) @definition.function

; Named class expressions: `globalThis.Headers = class Headers extends Base {}`.
(class name: (type_identifier) @name) @definition.class

; Members of interfaces and object types whose type is a function:
; `get: <T>(url: Input) => ResponsePromise<T>;`, `stringifyJson?: (data: unknown) => string;`.
(property_signature
  name: (property_identifier) @name
  type: (type_annotation [(function_type) (parenthesized_type (function_type))])) @definition.method
