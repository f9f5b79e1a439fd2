// Drag a product's images into a new order. The order goes into the form's hidden
// `image_order` field and is saved with the rest of the form; without script, each
// image's Move buttons do the same. (A dozen lines: no library needed for this.)
document.querySelectorAll("[data-sortable]").forEach((list) => {
  const order = document.getElementById(list.dataset.sortable);
  let dragged = null;
  const record = () => {
    order.value = Array.from(list.children, (item) => item.dataset.id).join(",");
  };
  for (const item of list.children) item.draggable = true;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    event.dataTransfer.effectAllowed = "move";
  });
  list.addEventListener("dragover", (event) => {
    const over = event.target.closest("li");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("drop", (event) => {
    event.preventDefault();
    record();
  });
  list.addEventListener("dragend", () => {
    dragged = null;
    record();
  });
});
