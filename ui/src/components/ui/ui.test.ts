import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import Segmented from "./Segmented.svelte";
import Toggle from "./Toggle.svelte";

describe("Toggle", () => {
  it("is a labelled switch that flips and reports the new state", async () => {
    const onchange = vi.fn();
    render(Toggle, { label: "Allow read_file", checked: false, onchange });
    const toggle = screen.getByRole("switch", { name: "Allow read_file" });
    expect(toggle).toHaveAttribute("aria-checked", "false");

    await fireEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-checked", "true");
    expect(onchange).toHaveBeenLastCalledWith(true);

    await fireEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-checked", "false");
    expect(onchange).toHaveBeenLastCalledWith(false);
  });

  it("does nothing when disabled", async () => {
    const onchange = vi.fn();
    render(Toggle, { label: "Locked", checked: true, disabled: true, onchange });
    const toggle = screen.getByRole("switch", { name: "Locked" });
    await fireEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-checked", "true");
    expect(onchange).not.toHaveBeenCalled();
  });
});

describe("Segmented", () => {
  const options = [
    { value: "allow", label: "Allow" },
    { value: "ask", label: "Ask" },
    { value: "deny", label: "Deny" },
  ];

  it("shows the value and reports another choice without changing by itself", async () => {
    const onchange = vi.fn();
    render(Segmented, { label: "read_file switch", options, value: "ask", onchange });
    const group = screen.getByRole("radiogroup", { name: "read_file switch" });
    expect(within(group).getByRole("radio", { name: "Ask" })).toBeChecked();

    await fireEvent.click(within(group).getByRole("radio", { name: "Ask" }));
    expect(onchange).not.toHaveBeenCalled();
    await fireEvent.click(within(group).getByRole("radio", { name: "Deny" }));
    expect(onchange).toHaveBeenCalledWith("deny");
    expect(within(group).getByRole("radio", { name: "Ask" })).toBeChecked();
  });

  it("moves the focus with the arrow keys and chooses nothing on the way", async () => {
    const onchange = vi.fn();
    render(Segmented, { label: "Mode", options, value: "allow", onchange });
    const [allow, ask, deny] = screen.getAllByRole("radio");
    expect(allow).toHaveAttribute("tabindex", "0");
    expect(ask).toHaveAttribute("tabindex", "-1");
    allow!.focus();
    await fireEvent.keyDown(allow!, { key: "ArrowLeft" });
    expect(document.activeElement).toBe(deny);
    await fireEvent.keyDown(deny!, { key: "ArrowRight" });
    expect(document.activeElement).toBe(allow);
    expect(onchange).not.toHaveBeenCalled();
  });
});
