; Definitions in JavaScript (ES modules and scripts).
(class_declaration name: (identifier) @name) @definition.class

(method_definition name: [(property_identifier) (private_property_identifier)] @name)
  @definition.method

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method

; (include ecmascript.scm): the patterns JavaScript and TypeScript share go here


; Named class expressions: `exports.Router = class Router {}`.
(class name: (identifier) @name) @definition.class
