"""Subject-aware reframing of a landscape clip into 9:16: follow the speaker, fit with a
blurred background, two speakers stacked, or the centre crop.

layouts.py (the layout values), detect.py (FaceDetector protocol, OpenCV's bundled Haar
cascade), sample.py (one cheap ffmpeg pass: small frames, cut thumbnails), plan.py (faces,
motion, cuts → a Plan for a layout; AUTO resolved), path.py (follow's crop path: dead zone,
eased pans, hard cuts), filters.py (each layout's ffmpeg filter), render.py (what the
pipeline and the preview call)."""
