; Definitions in Go. A method's receiver type is captured as @parent.
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct

(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface

(type_spec name: (type_identifier) @name) @definition.type

(function_declaration name: (identifier) @name) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @parent
        (pointer_type (type_identifier) @parent)
        (generic_type type: (type_identifier) @parent)
        (pointer_type (generic_type type: (type_identifier) @parent))
      ]))
  name: (field_identifier) @name) @definition.method

(method_elem name: (field_identifier) @name) @definition.method

(const_spec name: (identifier) @name) @definition.constant

; Package-level function values: `var handler = func(w Writer) {…}`.
(source_file
  (var_declaration
    (var_spec name: (identifier) @name value: (expression_list (func_literal))) @definition.function))
