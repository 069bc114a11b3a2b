/* Camera scanning for the sampler's page: fills the focused field with the
   QR code or barcode text the camera sees, then submits when both fields are
   filled. Works offline: jsQR is embedded; nothing is fetched. */
(function () {
  var button = document.getElementById("camera");
  var video = document.getElementById("camera-view");
  if (!button || !video || !navigator.mediaDevices || !window.jsQR) {
    if (button) button.hidden = true;
    return;
  }
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var target = function () {
    var tube = document.querySelector('input[name="tube"]');
    var code = document.querySelector('input[name="code"]');
    return tube && !tube.value ? tube : code;
  };
  var stop = function () {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.hidden = true;
  };
  var tick = function () {
    if (!stream) return;
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) {
        var input = target();
        input.value = found.data.trim();
        if (navigator.vibrate) navigator.vibrate(80);
        var form = input.form;
        if (form.tube.value && form.code.value) { stop(); form.submit(); return; }
      }
    }
    requestAnimationFrame(tick);
  };
  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      video.play();
      requestAnimationFrame(tick);
    }).catch(function () { button.hidden = true; });
  });
})();
