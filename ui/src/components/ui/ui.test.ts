import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
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
