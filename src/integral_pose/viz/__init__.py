"""Pictures: 2D overlays (:mod:`.draw2d`), 3D matplotlib plots (:mod:`.plot3d`, ``viz`` extra), the self-contained
HTML 3D viewer (:mod:`.viewer`, ``viz`` extra) and training reports (:mod:`.report`). matplotlib and plotly are
imported only when a plotting function is called."""
