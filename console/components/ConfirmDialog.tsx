/** @jsxRuntime automatic @jsxImportSource preact */
import { useEffect, useId, useRef } from "preact/hooks";

export interface ConfirmDialogProps {
  title: string;
  description: string;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
}

/**
 * A modal `<dialog>`: the browser traps focus in it, Escape closes it, and
 * focus returns to the button that opened it. Render it only while open.
 */
export default function ConfirmDialog(props: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current!;
    dialog.showModal();
    return () => dialog.open && dialog.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-description`}
      onClose={props.onClose}
      class="max-w-md rounded-lg border border-gray-300 p-0 shadow-xl"
    >
      <div class="p-5">
        <h2 id={`${id}-title`} class="text-lg font-semibold text-gray-900">{props.title}</h2>
        <p id={`${id}-description`} class="mt-2 text-sm text-gray-700">{props.description}</p>
        <div class="mt-5 flex justify-end gap-2">
          <button
            type="button"
            class="rounded border border-gray-400 bg-white px-3 py-1.5 text-sm text-gray-900 hover:bg-gray-100 focus:outline-none focus:ring-2 focus:ring-blue-600"
            onClick={() => ref.current!.close()}
          >
            Cancel
          </button>
          <button
            type="button"
            class="rounded bg-blue-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-blue-800 focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2"
            onClick={() => {
              props.onConfirm();
              ref.current!.close();
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </div>
    </dialog>
  );
}
