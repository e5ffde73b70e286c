// Files dropped anywhere in the window: the page that takes them (the Datasets page's drop zone
// claims the whole window while it is shown), or none, and then the studio says where they go.
// A zone that takes its own drops (LetterDrop) stops them before they reach the window.

/** What takes the files dragged over and dropped on the window. */
export interface WindowDropTarget {
  /** Files are being dragged over the window (true), or have left it or landed (false). */
  dragging(over: boolean): void;
  drop(transfer: DataTransfer): void;
}

let current: WindowDropTarget | null = null;

/** Makes `target` take the window's drops until the returned function is called (an $effect's teardown). */
export function takeWindowDrops(target: WindowDropTarget): () => void {
  current = target;
  return () => {
    if (current === target) current = null;
  };
}

export function windowDropTarget(): WindowDropTarget | null {
  return current;
}

/** Whether a drag carries files (not text or a link dragged within the page). */
export function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}
