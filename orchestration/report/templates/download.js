document.querySelectorAll('button[data-csv]').forEach(function (button) {
  button.addEventListener('click', function () {
    var encoded = document.getElementById(button.dataset.csv).textContent.trim();
    var text = atob(encoded);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    var url = URL.createObjectURL(new Blob([bytes], {type: 'text/csv;charset=utf-8'}));
    var link = document.createElement('a');
    link.href = url;
    link.download = button.dataset.filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  });
});
