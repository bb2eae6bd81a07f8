import { mount } from "svelte";
import App from "./App.svelte";
import ApprovalPopup from "./components/approvals/ApprovalPopup.svelte";
import { ApprovalsStore } from "./lib/approvals/approvals.svelte";
import { tauriBackend } from "./lib/ipc";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("missing #app");

// The approval popup is its own window, opened at `#/approvals`.
export default window.location.hash.startsWith("#/approvals")
  ? mount(ApprovalPopup, { target, props: { approvals: new ApprovalsStore(tauriBackend) } })
  : mount(App, { target });
