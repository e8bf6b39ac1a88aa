/* Haven's camera scanner: getUserMedia + jsQR, decoded in the browser; nothing is sent anywhere.
   Used by the clinic's "open a card" page and by the verifier. Needs jsQR.min.js loaded first. */
(function () {
  "use strict";

  var MAX_SIDE = 720; // frames are scaled down to this before decoding

  function Scanner(video, onText, onStatus) {
    this.video = video;
    this.onText = onText;
    this.onStatus = onStatus || function () {};
    this.stream = null;
    this.canvas = document.createElement("canvas");
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.running = false;
  }

  Scanner.prototype.start = function () {
    var self = this;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      self.onStatus("denied");
      return Promise.resolve(false);
    }
    self.onStatus("starting");
    return navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        self.stream = stream;
        self.video.srcObject = stream;
        self.video.hidden = false;
        return self.video.play();
      })
      .then(function () {
        self.running = true;
        self.onStatus("looking");
        self.tick();
        return true;
      })
      .catch(function () {
        self.stop();
        self.onStatus("denied");
        return false;
      });
  };

  Scanner.prototype.tick = function () {
    var self = this;
    if (!self.running) return;
    var video = self.video;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
      var w = Math.round(video.videoWidth * scale);
      var h = Math.round(video.videoHeight * scale);
      self.canvas.width = w;
      self.canvas.height = h;
      self.context.drawImage(video, 0, 0, w, h);
      var image = self.context.getImageData(0, 0, w, h);
      var code = window.jsQR(image.data, w, h, { inversionAttempts: "attemptBoth" });
      if (code && code.data) {
        var decodedAt = performance.now();
        self.stop();
        self.onStatus("found");
        self.onText(code.data, decodedAt);
        return;
      }
    }
    window.requestAnimationFrame(function () {
      self.tick();
    });
  };

  Scanner.prototype.stop = function () {
    this.running = false;
    if (this.stream) {
      this.stream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
  };

  window.HavenScanner = Scanner;
})();
