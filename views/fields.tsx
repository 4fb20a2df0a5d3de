import type { PropsWithChildren } from '@kitajs/html'

/** What a form shows for each field (saved or just typed) and the error next to it. */
export interface FieldState {
  values: Record<string, string | boolean | number>
  errors: Record<string, string>
}

interface FieldProps {
  name: string
  label: string
  state: FieldState
  /** A hint under the field, shown when there is no error. */
  help?: string
  id?: string
}

const fieldId = (name: string, id?: string) => id ?? `field-${name}`

/**
 * An attribute value as typed: @kitajs/html escapes only `"` in attributes, so a literal `&amp;`
 * typed by a user would come back as `&`. Escaping `&` first keeps every value byte for byte.
 */
export function attrText(value: string): string {
  return value.replaceAll('&', '&amp;')
}

/** The error (or the hint) under a field, tied to the input by aria-describedby. */
function FieldMessage({
  name,
  state,
  help,
  id,
}: Pick<FieldProps, 'name' | 'state' | 'help' | 'id'>) {
  const error = state.errors[name]
  const msgId = `${fieldId(name, id)}-msg`
  if (error) {
    return (
      <small id={msgId} class="field-error" role="alert" safe>
        {error}
      </small>
    )
  }
  return help ? (
    <small id={msgId} safe>
      {help}
    </small>
  ) : (
    ''
  )
}

function describedBy(props: FieldProps): Record<string, string> {
  const hasMsg = props.state.errors[props.name] !== undefined || props.help !== undefined
  const attrs: Record<string, string> = {}
  if (hasMsg) attrs['aria-describedby'] = `${fieldId(props.name, props.id)}-msg`
  if (props.state.errors[props.name] !== undefined) attrs['aria-invalid'] = 'true'
  return attrs
}

function textValue(state: FieldState, name: string): string {
  const v = state.values[name]
  return v === undefined || v === null ? '' : String(v)
}

/** A labelled text-like input. */
export function TextField(
  props: FieldProps & {
    type?: 'text' | 'email' | 'number' | 'password' | 'url'
    placeholder?: string
    autocomplete?: string
    required?: boolean
    min?: number
    max?: number
    list?: string
  },
) {
  const id = fieldId(props.name, props.id)
  return (
    <div class="field">
      <label for={id} safe>
        {props.label}
      </label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.type === 'password' ? '' : attrText(textValue(props.state, props.name))}
        placeholder={props.placeholder}
        autocomplete={props.autocomplete}
        required={props.required}
        min={props.min === undefined ? undefined : String(props.min)}
        max={props.max === undefined ? undefined : String(props.max)}
        list={props.list}
        {...describedBy(props)}
      />
      <FieldMessage name={props.name} state={props.state} help={props.help} id={props.id} />
    </div>
  )
}

/** A labelled select; `options` are [value, label] pairs. */
export function SelectField(props: FieldProps & { options: [string, string][] }) {
  const id = fieldId(props.name, props.id)
  const current = textValue(props.state, props.name)
  return (
    <div class="field">
      <label for={id} safe>
        {props.label}
      </label>
      <select id={id} name={props.name} {...describedBy(props)}>
        {props.options.map(([value, label]) => (
          <option value={value} selected={value === current} safe>
            {label}
          </option>
        ))}
      </select>
      <FieldMessage name={props.name} state={props.state} help={props.help} id={props.id} />
    </div>
  )
}

/**
 * A checkbox (or a switch) that always submits a value: a hidden `false` before it, which the
 * checked box's `true` overrides (the server takes the last value of a field).
 */
export function CheckboxField(
  props: PropsWithChildren<FieldProps & { role?: 'switch'; checkedLabel?: string }>,
) {
  const id = fieldId(props.name, props.id)
  const checked =
    props.state.values[props.name] === true || props.state.values[props.name] === 'true'
  return (
    <>
      <input type="hidden" name={props.name} value="false" />
      <label for={id}>
        <input
          id={id}
          type="checkbox"
          name={props.name}
          value="true"
          role={props.role}
          checked={checked}
          {...describedBy(props)}
        />
        <span safe>{props.label}</span>
        {props.children}
      </label>
      <FieldMessage name={props.name} state={props.state} help={props.help} id={props.id} />
    </>
  )
}

/**
 * A value to copy: the text in a `<code>` and a Copy button beside it (views/static/app.js copies
 * the element `data-copy` names). `secret` marks a value shown once (a key, a signing secret).
 */
export function CopyRow({
  id,
  text,
  secret = false,
}: {
  id: string
  text: string
  secret?: boolean
}) {
  return (
    <div class="copy-row">
      <code id={id} class={secret ? 'secret' : undefined} safe>
        {text}
      </code>
      <button type="button" class="outline" data-copy={id}>
        Copy
      </button>
    </div>
  )
}
