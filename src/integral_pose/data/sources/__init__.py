"""One reader per dataset layout (Human3.6M, its ECCV'18 challenge release, MPII, COCO, SynthMocap files and the
on-the-fly SynthMocap stream), each producing :class:`integral_pose.data.records.PoseRecords`."""
