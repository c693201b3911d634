"use client";
import {
  autocompletion,
  type CompletionContext,
  type CompletionResult,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
} from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { StandardSQL, sql } from "@codemirror/lang-sql";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { EditorState, type Extension, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  EditorView,
  keymap,
  lineNumbers,
  placeholder,
} from "@codemirror/view";
import { useEffect, useRef } from "react";
import { completionOptions, type SchemaTable } from "./sql-completion";

export type { SchemaTable };

/**
 * The SQL editor (CodeMirror 6), loaded only by the query workspace (React.lazy): SQL
 * highlighting, completion of the dataset's tables and columns (from the public data card the
 * workspace loads) and of the functions the engine allows, Mod-Enter to run, and the place a
 * refusal applies marked when the engine said where.
 */

export interface SqlEditorApi {
  insert(text: string): void;
}

export interface SqlEditorProps {
  value: string;
  onChange(value: string): void;
  onRun?(): void;
  tables: readonly SchemaTable[];
  /** Where the last refusal applies (1-based), or null. */
  errorAt?: { line: number; column: number } | null;
  onReady?(api: SqlEditorApi): void;
}

function schemaSource(tables: readonly SchemaTable[]) {
  const options = completionOptions(tables);
  return (context: CompletionContext): CompletionResult | null => {
    const word = context.matchBefore(/\w*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    // After "table." lang-sql's own schema completion offers that table's columns.
    if (context.state.sliceDoc(word.from - 1, word.from) === ".") return null;
    return { from: word.from, options, validFor: /^\w*$/ };
  };
}

const setRefusal = StateEffect.define<{ from: number; to: number } | null>();
const refusalMark = Decoration.mark({
  class: "cm-refusal",
  attributes: { "data-testid": "refusal-mark", title: "The refusal applies here" },
});
const refusalField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = tr.docChanged ? Decoration.none : marks;
    for (const effect of tr.effects) {
      if (effect.is(setRefusal)) {
        next = effect.value
          ? Decoration.set([refusalMark.range(effect.value.from, effect.value.to)])
          : Decoration.none;
      }
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** The token at a 1-based line and column: up to the next space or the end of the line. */
function refusalRange(state: EditorState, at: { line: number; column: number }) {
  if (at.line < 1 || at.line > state.doc.lines) return null;
  const line = state.doc.line(at.line);
  const from = Math.min(line.to, line.from + at.column - 1);
  const rest = state.sliceDoc(from, line.to);
  const length = Math.max(1, rest.search(/\s|$/));
  const to = Math.min(line.to, from + length);
  return to > from ? { from, to } : from > line.from ? { from: from - 1, to: from } : null;
}

const theme = EditorView.theme({
  "&": {
    border: "1px solid #cbd5e1",
    borderRadius: "6px",
    fontSize: "14px",
    minHeight: "9em",
    background: "#fff",
  },
  "&.cm-focused": { outline: "2px solid #0f766e55" },
  ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" },
  ".cm-scroller": { minHeight: "9em" },
  ".cm-refusal": {
    textDecoration: "underline wavy #b91c1c",
    background: "#fee2e2",
  },
});

export function SqlEditor({ value, onChange, onRun, tables, errorAt, onReady }: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const callbacks = useRef({ onChange, onRun });
  callbacks.current = { onChange, onRun };

  useEffect(() => {
    if (!host.current) return;
    const extensions: Extension[] = [
      lineNumbers(),
      history(),
      bracketMatching(),
      closeBrackets(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      sql({
        dialect: StandardSQL,
        schema: Object.fromEntries(tables.map((t) => [t.name, t.columns.map((c) => c.name)])),
      }),
      StandardSQL.language.data.of({ autocomplete: schemaSource(tables) }),
      autocompletion({ activateOnTyping: true }),
      keymap.of([
        {
          key: "Mod-Enter",
          run: () => {
            callbacks.current.onRun?.();
            return true;
          },
        },
        ...closeBracketsKeymap,
        ...completionKeymap,
        ...historyKeymap,
        ...defaultKeymap,
      ]),
      placeholder("SELECT sex, count(*) FROM person GROUP BY sex"),
      refusalField,
      theme,
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ "aria-label": "SQL", "data-testid": "sql-editor" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
      }),
    ];
    const editor = new EditorView({
      state: EditorState.create({ doc: value, extensions }),
      parent: host.current,
    });
    view.current = editor;
    onReady?.({
      insert(text) {
        const { from, to } = editor.state.selection.main;
        editor.dispatch({
          changes: { from, to, insert: text },
          selection: { anchor: from + text.length },
        });
        editor.focus();
      },
    });
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, [tables]);

  // The workspace may set the text (a query picked from the history).
  useEffect(() => {
    const editor = view.current;
    if (!editor || editor.state.doc.toString() === value) return;
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const range = errorAt ? refusalRange(editor.state, errorAt) : null;
    editor.dispatch({ effects: setRefusal.of(range) });
  }, [errorAt]);

  return <div ref={host} data-testid="sql-editor-host" />;
}

export default SqlEditor;
