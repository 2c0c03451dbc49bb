"""ROS-free synthetic multi-drone data generator (procedural city, embree ray casting).

Modules, one concept each:
  config         SimConfig, splits, seed derivation (disjoint city seeds per split)
  noise          hash value noise, fbm, anti-aliased stripes (world-space textures)
  geometry       triangle primitives and the attribute-tagging MeshBuilder
  materials      procedural surface shaders (asphalt + markings, façades + windows, ...)
  props, city    buildings, trees, lamps, cars; the city layout and its static mesh
  traffic        moving cars
  camera         intrinsics, poses (optical frame), rays, projection
  raycast        embree layers and nearest-hit queries
  shading        sun + shadows, sky light, sky dome with clouds, haze
  sensor         per-drone exposure, white balance, tone curve, noise
  trajectory     swarm flight (roughly together, own yaw rates, intersection exploration)
  obstruction    birds, branches, balloons, bags, kites placed in front of the target
  correspondence reprojection, cell correspondences, dense warp
  generator      EpisodeRenderer -> Snapshot
  format/writer  on-disk format (documented in format.py), split generation
  dataset        torch Dataset (MashSimDataset)
  bag            rosbag2 export (AirSim ROS 2 wrapper layout + /mash_gt)
  preview, stats montage PNG; overlap / pose statistics vs the paper
  sample         the bundled 50-snapshot sample (data/sample) and its bag
CLI: ``mash-sim`` (mash_ros/tools/sim.py); benchmark: ``mash-bench sim``.
"""
