/* Haven's camera scanner: getUserMedia, decoded in the browser; nothing is sent anywhere.
   The browser's own BarcodeDetector where it reads QR codes (Android, ChromeOS, macOS: native and
   fast), the vendored jsQR elsewhere (and if the detector fails). Used by the clinic's "open a card"
   page and by the verifier. Needs jsQR.min.js loaded first. */
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
    this.detector = null; // a BarcodeDetector, once known to read QR codes
  }

  function nativeDetector() {
    if (!("BarcodeDetector" in window) || !window.BarcodeDetector.getSupportedFormats) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats()
      .then(function (formats) {
        return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      })
      .catch(function () {
        return null;
      });
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
      .then(nativeDetector)
      .then(function (detector) {
        self.detector = detector;
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

  Scanner.prototype.found = function (text) {
    var decodedAt = performance.now();
    this.stop();
    this.onStatus("found");
    this.onText(text, decodedAt);
  };

  Scanner.prototype.next = function () {
    var self = this;
    window.requestAnimationFrame(function () {
      self.tick();
    });
  };

  Scanner.prototype.tick = function () {
    var self = this;
    if (!self.running) return;
    var video = self.video;
    if (self.detector && video.readyState >= 2) {
      self.detector
        .detect(video)
        .then(function (codes) {
          if (!self.running) return;
          if (codes.length && codes[0].rawValue) self.found(codes[0].rawValue);
          else self.next();
        })
        .catch(function () {
          self.detector = null; // jsQR from now on
          self.next();
        });
      return;
    }
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
        self.found(code.data);
        return;
      }
    }
    self.next();
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
