import "@testing-library/jest-dom/vitest";

// happy-dom's <dialog> lacks the modal methods; give it the standard behaviour.
HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
  this.setAttribute("open", "");
};
HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
  this.removeAttribute("open");
};
