/* The sampler's page. The scan form is sent in the background: the answer
   (its text comes from the server, in the page's language) is shown at once
   with a sound and a colour, the tube's fill ("7/10") is updated, and a tube
   that filled up is cleared so the next scan starts with a new tube. Without
   script, or when the background send fails, the form posts as usual.
   Camera scanning fills the focused field with the QR code or barcode text
   the camera sees, then sends when both fields are filled. Works offline:
   jsQR is embedded; nothing is fetched from elsewhere. */
(function () {
  var form = document.getElementById("scan-form");
  if (!form) return;
  var tube = form.elements.tube;
  var code = form.elements.code;
  var statusBox = document.getElementById("scan-status");
  var fill = document.getElementById("tube-fill");
  var audio = null;

  /* A short tone: two rising notes for a full tube, one low note for a refusal. */
  var beep = function (kind) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      var notes = kind === "done" ? [660, 990] : kind === "error" ? [220] : [880];
      notes.forEach(function (f, i) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = f;
        gain.gain.value = 0.15;
        osc.connect(gain);
        gain.connect(audio.destination);
        var at = audio.currentTime + i * 0.16;
        osc.start(at);
        osc.stop(at + 0.14);
      });
    } catch (e) { /* no sound on this device */ }
    if (navigator.vibrate) navigator.vibrate(kind === "error" ? [80, 60, 80] : kind === "done" ? [60, 40, 60] : 40);
  };

  var show = function (answer) {
    var p = document.createElement("p");
    p.className = answer.ok ? "notice" : "error-box";
    if (answer.done && answer.ok) p.className += " tube-done";
    p.textContent = answer.message;
    statusBox.replaceChildren(p);
  };

  /* The person just bound is marked in the list: their tube beside the name,
     and no longer tagged as due for a home retest (an accepted scan of someone
     due is their retest; the page shows the same once reloaded). */
  var mark = function (answer) {
    if (!answer.ok || !answer.resident || !answer.tube) return;
    var person = document.querySelector('.person[data-r="' + answer.resident + '"]');
    if (!person) return;
    var due = person.querySelector(".tag.retest-due");
    if (due) {
      var before = due.previousSibling;
      if (before && before.nodeType === Node.TEXT_NODE) before.textContent = before.textContent.replace(/\s+$/, "");
      due.remove();
    }
    var strong = person.querySelector("strong");
    if (strong) strong.replaceWith(document.createTextNode(strong.textContent));
    if (!person.querySelector(".tag.done")) {
      var tag = document.createElement("span");
      tag.className = "tag done";
      tag.textContent = answer.tube;
      person.insertBefore(document.createTextNode(" "), person.firstChild);
      person.insertBefore(tag, person.firstChild);
    }
    person.classList.remove("bedridden");
  };

  var sending = false;
  var send = function () {
    if (sending) return;
    if (!tube.value.trim()) { tube.focus(); return; }
    if (!code.value.trim()) { code.focus(); return; }
    sending = true;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      if (!r.ok) throw new Error("status " + r.status);
      return r.json();
    }).then(function (answer) {
      sending = false;
      form.elements.key.value = answer.key;
      show(answer);
      mark(answer);
      code.value = "";
      var sealForm = document.getElementById("seal-form");
      if (answer.done) {
        tube.value = "";
        fill.textContent = "";
        if (sealForm) sealForm.hidden = true;
        beep("done");
        tube.focus();
      } else {
        if (answer.fill) fill.textContent = answer.fill;
        if (sealForm) { sealForm.elements.tube.value = tube.value; sealForm.hidden = false; }
        beep(answer.ok ? "ok" : "error");
        code.focus();
      }
    }).catch(function () {
      /* The server's page answers instead (and says what happened). */
      sending = false;
      form.submit();
    });
  };
  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
  /* A new tube code typed after a full one: its fill is unknown until the first scan. */
  tube.addEventListener("input", function () { fill.textContent = ""; });

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
        if (tube.value && code.value) { stop(); send(); return; }
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
