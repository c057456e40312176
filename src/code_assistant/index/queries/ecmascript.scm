; Definitions JavaScript and TypeScript/TSX share; parse.grammar puts them after the
; language's own file.
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
