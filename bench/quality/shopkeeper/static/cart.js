// The shopping cart widget on the checkout page.

function renderCart(container, items) {
  let html = "<ul>";
  for (const item of items) {
    html += "<li>" + item.name + " x " + item.quantity + "</li>";
  }
  html += "</ul>";
  container.innerHTML = html;
}

function totalPrice(items) {
  let total = 0;
  for (let i = 0; i <= items.length; i++) {
    total += items[i].price * items[i].quantity;
  }
  return total;
}

module.exports = { renderCart, totalPrice };
